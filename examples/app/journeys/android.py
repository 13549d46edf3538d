"""Android-only glue for the app: runtime permissions, the sensing foreground service, restart after reboot.

Imported only on Android (``jnius`` and python-for-android's ``android`` module exist there); tests
exercise it with fake modules. The names must match ``buildozer.spec`` (``package.domain``,
``package.name``, ``services``); a test checks that.

Order on a phone: the app shows its disclosure (the consent screen) → the user agrees →
:func:`request_permissions` shows the system dialogs → its callback, once location is granted, starts
the service (:func:`start_service`). A location foreground service started before the grant throws
on Android 14, and plyer's location updates fail without it, so nothing starts earlier.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

log = logging.getLogger(__name__)

PACKAGE = "org.momentsense.journeys"  # package.domain + "." + package.name in buildozer.spec
SERVICE_NAME = "Sensing"  # services = Sensing:service.py:foreground...
SERVICE_CLASS = f"{PACKAGE}.Service{SERVICE_NAME}"  # the class python-for-android generates

LOCATION_PERMISSIONS = ("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION")
#: Asked after the disclosure. Background location is not asked: the service is a foreground service
#: started while the app is visible, which keeps location access while the app is closed. The step
#: sensors (ACTIVITY_RECOGNITION) are not used. POST_NOTIFICATIONS (Android 13+) shows the service's
#: notification; declining it hides the notification but sensing still works.
FOREGROUND_PERMISSIONS = (*LOCATION_PERMISSIONS, "android.permission.POST_NOTIFICATIONS")
#: The file the boot receiver (android_src/.../BootReceiver.java) looks for in the app's files folder:
#: present = the user allowed Journeys to offer resuming after a reboot.
BOOT_MARKER = "journeys-resume-after-boot"


def location_granted(check: Callable[[str], bool]) -> bool:
    """Fine or approximate location (Android lets the user pick approximate)."""
    return any(check(p) for p in LOCATION_PERMISSIONS)


def request_permissions(on_result: Callable[[bool], None]) -> None:
    """Show the system permission dialogs (only for what is missing); ``on_result(granted)`` runs once
    the user answered (python-for-android calls back on its own thread: hop to the UI thread there).
    ``granted``: location allowed, the one permission sensing cannot do without."""
    from android.permissions import check_permission, request_permissions as ask

    def after(permissions, grants):
        on_result(location_granted(check_permission))

    missing = [p for p in FOREGROUND_PERMISSIONS if not check_permission(p)]
    if missing:
        ask(missing, after)
    else:
        after([], [])


def _activity():
    from jnius import autoclass

    return autoclass("org.kivy.android.PythonActivity").mActivity


def start_service(argument: str = "") -> None:
    """Start the foreground sensing service (python-for-android shows its notification)."""
    from jnius import autoclass

    activity = _activity()
    service = autoclass(SERVICE_CLASS)
    try:  # start(ctx, smallIconName, contentTitle, contentText, pythonServiceArgument)
        service.start(activity, "", "Journeys is sensing", "Recording your day: places and trips. Tap to open.", argument)
    except Exception:  # older python-for-android: start(ctx, argument)
        service.start(activity, argument)


def stop_service() -> None:
    """Stop the sensing service (paused, or consent revoked)."""
    from jnius import autoclass

    autoclass(SERVICE_CLASS).stop(_activity())


def open_app_settings() -> None:
    """Open Journeys' page in the system settings (the fix for a refused permission)."""
    from jnius import autoclass

    Intent = autoclass("android.content.Intent")
    Settings = autoclass("android.provider.Settings")
    Uri = autoclass("android.net.Uri")
    intent = Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", PACKAGE, None))
    _activity().startActivity(intent)


def set_resume_after_boot(on: bool, files_dir: Optional[str] = None) -> None:
    """Create or delete the boot marker. With it, after a reboot Journeys posts a notification "tap to
    resume sensing" (Android does not let a location service start from boot without background
    location access, which Journeys does not ask for)."""
    from pathlib import Path

    if files_dir is None:
        files_dir = _activity().getFilesDir().getAbsolutePath()
    marker = Path(files_dir) / BOOT_MARKER
    if on:
        marker.write_text("1")
    elif marker.exists():
        marker.unlink()


def acquire_wake_lock():
    """In the service: a partial wake lock, so the motion sensors keep delivering with the screen off
    (released by the caller with ``.release()`` when sensing stops)."""
    from jnius import autoclass, cast

    service = autoclass("org.kivy.android.PythonService").mService
    Context = autoclass("android.content.Context")
    PowerManager = autoclass("android.os.PowerManager")
    pm = cast("android.os.PowerManager", service.getSystemService(Context.POWER_SERVICE))
    lock = pm.newWakeLock(PowerManager.PARTIAL_WAKE_LOCK, "journeys:sensing")
    lock.acquire()
    return lock
