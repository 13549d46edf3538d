"""Where the SDK runs: Android detection and the few pyjnius helpers the Android backends share.

Nothing here imports ``jnius`` at module import time: a desktop never needs it.
"""

from __future__ import annotations

import os
import sys


def is_android() -> bool:
    """True inside an Android app built with python-for-android (or CPython's own Android build).

    python-for-android's launcher sets ``ANDROID_ARGUMENT`` (app directory) and ``ANDROID_PRIVATE``
    for the activity and for services; CPython ≥ 3.13 built for Android reports ``sys.platform ==
    "android"``. ``ANDROID_ROOT`` alone is not enough: Termux sets it too, and has no Java VM to call.
    """
    return sys.platform == "android" or "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ


def android_context():
    """The app's ``android.content.Context``: the running ``PythonService`` if this process is a
    service, else the ``PythonActivity``. Raises ``RuntimeError`` when neither exists."""
    from jnius import autoclass

    for name, field in (("org.kivy.android.PythonService", "mService"), ("org.kivy.android.PythonActivity", "mActivity")):
        try:
            ctx = getattr(autoclass(name), field)
        except Exception:  # class absent in this bootstrap
            continue
        if ctx is not None:
            return ctx
    raise RuntimeError("no Android Context: neither PythonService.mService nor PythonActivity.mActivity is set")


def detach_thread() -> None:
    """Detach the calling thread from the Java VM (call it last in any thread that used pyjnius;
    Android aborts the process when a native thread exits still attached). No-op off Android."""
    if not is_android():
        return
    try:
        import jnius

        jnius.detach()
    except Exception:  # pragma: no cover - jnius absent or thread never attached
        pass
