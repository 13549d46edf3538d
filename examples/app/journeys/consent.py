"""Consent to sensing, through the SDK's consent log when it has one (plain Python)."""

from __future__ import annotations

import os
from pathlib import Path

from journeys.stores import ConsentFile


class Consent:
    """Consent to sensing: ``sdk.consent.ConsentManager`` when the SDK has it, else a JSON file.

    The app asks for one decision covering both data kinds the SDK senses (``motion`` and
    ``location``) for the purpose ``sensing``; revoking withdraws every purpose of both kinds. With
    the SDK's manager the log is ``<data_dir>/consent.sqlite`` (the Android service, another process,
    opens the same file); without it, ``<data_dir>/consent.json``.
    """

    PURPOSE = "sensing"
    KINDS = ("motion", "location")

    def __init__(self, data_dir: os.PathLike):
        self.file = ConsentFile(Path(data_dir) / "consent.json")
        self.manager = None
        try:
            from momentsense.sdk.consent import ConsentManager
        except ImportError:
            ConsentManager = None
        if ConsentManager is not None:
            self.manager = ConsentManager(Path(data_dir) / "consent.sqlite")
        self.backend = "momentsense.sdk.consent" if self.manager is not None else "app-json"

    def granted(self) -> bool:
        if self.manager is not None:
            return all(self.manager.allowed(k, self.PURPOSE) for k in self.KINDS)
        return self.file.granted()

    def grant(self) -> None:
        if self.manager is not None:
            for k in self.KINDS:
                self.manager.grant(k, self.PURPOSE)
        else:
            self.file.write(True)

    def revoke(self) -> None:
        if self.manager is not None:
            for k in self.KINDS:
                self.manager.revoke(k)
        else:
            self.file.write(False)

    def close(self) -> None:
        if self.manager is not None and hasattr(self.manager, "close"):
            self.manager.close()
