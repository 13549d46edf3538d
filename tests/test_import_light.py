"""The phone runtime must never pull in TensorFlow."""

import subprocess
import sys


def test_import_sdk_does_not_import_tensorflow():
    """Importing the SDK and its pipeline loads neither tensorflow nor keras (checked in a fresh interpreter)."""
    code = (
        "import sys, momentsense.sdk, momentsense.sdk.dsp, momentsense.sdk.models.manifest, momentsense.sdk.records, momentsense.sdk.errors, momentsense.edge_models\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'h5py'))\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"sdk imported heavy modules: {proc.stdout} {proc.stderr}"
