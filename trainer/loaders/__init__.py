"""Loaders that turn real datasets (and users' CSV files) into :class:`sdk.records.ImuDataset`.

One module per source: :mod:`~trainer.loaders.wisdm`, :mod:`~trainer.loaders.driver`,
:mod:`~trainer.loaders.us_tm2017`, :mod:`~trainer.loaders.csv_import`. Each returns a dataset that
:func:`sdk.io.imu_file.write_imu` accepts; :mod:`~trainer.loaders.aalto` (GPS, no IMU) returns GPS
tracks with their logged legs for :mod:`trainer.gps_truth_file` instead. ``momentsense convert``
wires them to the command line. They need h5py (desktop only).
"""
