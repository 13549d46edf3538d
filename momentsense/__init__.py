"""momentsense: transport modes, places, moments and segments on the phone.

``import momentsense`` is the face an app needs (``from momentsense import MomentSDK, SDKConfig,
ConsentManager``; the guide is ``docs/sdk.md``); it imports neither TensorFlow nor scipy. The
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

from momentsense import sdk as _sdk  # noqa: E402  (cheap: its names load on first use)

__version__ = _sdk.__version__
#: What an app imports: the SDK's face (``docs/sdk.md``), loaded lazily like ``momentsense.sdk``.
__all__ = list(_sdk.__all__)


def __getattr__(name: str):
    """``momentsense.MomentSDK`` and the other public names, from :mod:`momentsense.sdk` on first use."""
    if name in _sdk.__all__:
        value = getattr(_sdk, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'momentsense' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_sdk.__all__))
