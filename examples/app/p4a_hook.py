"""python-for-android build hook (``p4a.hook`` in buildozer.spec): registers the boot receiver.

buildozer has no option for a ``<receiver>`` inside ``<application>``, so this adds it to the
generated AndroidManifest.xml before Gradle runs. The receiver's Java source is in ``android_src/``
(``android.add_src``).
"""

from pathlib import Path

RECEIVER = """
    <receiver android:name="org.momentsense.journeys.BootReceiver" android:enabled="true" android:exported="false">
        <intent-filter><action android:name="android.intent.action.BOOT_COMPLETED" /></intent-filter>
    </receiver>
"""


def add_receiver(manifest: str) -> str:
    """The manifest with the boot receiver inside ``<application>`` (unchanged if it is there already)."""
    if "org.momentsense.journeys.BootReceiver" in manifest:
        return manifest
    if "</application>" not in manifest:
        raise ValueError("AndroidManifest.xml has no </application>: cannot register the boot receiver")
    return manifest.replace("</application>", RECEIVER + "</application>", 1)


def after_apk_build(toolchain) -> None:
    """p4a hook: patch ``<dist>/src/main/AndroidManifest.xml``."""
    path = Path(toolchain._dist.dist_dir) / "src" / "main" / "AndroidManifest.xml"
    path.write_text(add_receiver(path.read_text(encoding="utf-8")), encoding="utf-8")
