"""momentsense: transport modes, places, moments and segments on the phone.

``import momentsense`` is the face an app needs; it imports neither TensorFlow nor scipy. The
subpackages are :mod:`momentsense.sdk` (the on-device runtime), :mod:`momentsense.edge_models`
(architectures and shipped models), :mod:`momentsense.trainer` (data, simulation, training,
evaluation, server) and :mod:`momentsense.quantize` (compression).
"""

from pathlib import Path as _Path

# An install maps sdk/, trainer/, quantize/ and edge_models/ into this package (setup.py's
# package_dir); a source checkout without an install keeps them beside this folder, so the
# package also looks there when it sits in a checkout.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "setup.py").is_file() and (_checkout / "sdk" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 (a package's __path__)
del _Path, _checkout

from momentsense.sdk import *  # noqa: E402,F401,F403  (the face: see momentsense.sdk.__all__)
from momentsense.sdk import __version__  # noqa: E402,F401
