"""Android-only glue for the app: runtime permissions and the sensing foreground service.

Imported only on Android (``jnius`` and python-for-android's ``android`` module exist there); tests
exercise it with fake modules. The names must match ``buildozer.spec`` (``package.domain``,
``package.name``, ``services``); a test checks that.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PACKAGE = "org.momentsense.journeys"  # package.domain + "." + package.name in buildozer.spec
SERVICE_NAME = "Sensing"  # services = Sensing:service.py:foreground...
SERVICE_CLASS = f"{PACKAGE}.Service{SERVICE_NAME}"  # the class python-for-android generates

#: Asked at consent time. Background location is asked separately afterwards (Android 11+ sends the
#: user to the settings page for "Allow all the time"); POST_NOTIFICATIONS (Android 13+) lets the
#: foreground service show its notification.
FOREGROUND_PERMISSIONS = (
    "android.permission.ACCESS_FINE_LOCATION",
    "android.permission.ACCESS_COARSE_LOCATION",
    "android.permission.ACTIVITY_RECOGNITION",
    "android.permission.POST_NOTIFICATIONS",
)
BACKGROUND_PERMISSIONS = ("android.permission.ACCESS_BACKGROUND_LOCATION",)


def request_permissions() -> None:
    """Ask for the runtime permissions; background location once fine location is granted."""
    from android.permissions import check_permission, request_permissions as ask

    def after(permissions, grants):
        if all(check_permission(p) for p in FOREGROUND_PERMISSIONS[:1]):
            ask(list(BACKGROUND_PERMISSIONS))

    missing = [p for p in FOREGROUND_PERMISSIONS if not check_permission(p)]
    if missing:
        ask(missing, after)
    else:
        after([], [])


def start_service(argument: str = "") -> None:
    """Start the foreground sensing service (python-for-android shows its notification)."""
    from jnius import autoclass

    activity = autoclass("org.kivy.android.PythonActivity").mActivity
    service = autoclass(SERVICE_CLASS)
    try:  # start(ctx, smallIconName, contentTitle, contentText, pythonServiceArgument)
        service.start(activity, "", "Journeys is sensing", "Recognising how you travel; tap to open", argument)
    except Exception:  # older python-for-android: start(ctx, argument)
        service.start(activity, argument)


def stop_service() -> None:
    """Stop the sensing service (consent revoked)."""
    from jnius import autoclass

    activity = autoclass("org.kivy.android.PythonActivity").mActivity
    autoclass(SERVICE_CLASS).stop(activity)
