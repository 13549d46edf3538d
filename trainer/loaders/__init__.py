"""Loaders that turn real datasets (and users' CSV files) into :class:`sdk.records.ImuDataset`.

One module per source: :mod:`~trainer.loaders.wisdm`, :mod:`~trainer.loaders.driver`,
:mod:`~trainer.loaders.csv_import`. Each returns a dataset that :func:`sdk.io.imu_file.write_imu`
accepts; ``momentsense convert`` wires them to the command line. They need h5py (desktop only).
"""
