"""momentsense in one page: sense, store, upload, read the day, revoke.

Senses an hour and a half of a simulated person (home, a walk, a bus ride, a walk, the office),
keeps the timeline in a local store, uploads the aggregated day to a sync server running in this
process, reads the day back and revokes the upload consent. Run it from the repository root:

    python examples/quickstart.py

It prints one JSON object; ``tests/test_quickstart.py`` runs it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from momentsense.sdk import ConsentManager, Leg, MomentSDK, SDKConfig, SyncOptions  # noqa: E402
from momentsense.trainer.server.loopback import LoopbackServer  # noqa: E402  (the server side, only for this example)


def main(work: Path) -> dict:
    """Run the example with its files in ``work``; returns what it printed."""
    legs = [Leg("still", 1200.0), Leg("walk", 600.0), Leg("bus", 900.0), Leg("walk", 300.0), Leg("still", 1800.0)]
    with LoopbackServer(work / "server.db") as server, ConsentManager(work / "consent.sqlite") as consent:
        for kind in ("motion", "location"):  # the person agreed to sensing and to uploading
            consent.grant(kind, "sensing")
            consent.grant(kind, "sync")
        config = SDKConfig(source="simulate", simulate_legs=legs, seed=1, store_path=str(work / "timeline.db"),
                           sync=SyncOptions(server.url, server.api_key))  # fmt: skip
        with MomentSDK(config, consent=consent) as sdk:
            events = []
            sdk.on_event(events.append)  # transport events, on the SDK's dispatcher thread
            sdk.start()  # senses on the SDK's own thread
            sdk.wait(120.0)
            sdk.stop()
            day = sdk.days()[0]
            timeline = sdk.timeline(day)  # DayTimeline: events, visits, trips of that local day
            uploaded = sdk.sync()
            consent.revoke("location", "sync")
            consent.revoke("motion", "sync")
            after_revoke = sdk.sync()
            out = {
                "day": day.isoformat(),
                "modes": [e.mode for e in timeline.events],
                "visits": len(timeline.visits),
                "trips": [list(t.modes) for t in timeline.trips],
                "places": [p.label for p in sdk.places()],
                "callbacks": len(events),
                "segments_reason": sdk.segments().reason,
                "uploaded_days": list(uploaded.days_built),
                "server_days": server.days_held(),
                "after_revoke": {"sent": after_revoke.batches_sent, "deferred": after_revoke.deferred},
            }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="momentsense-quickstart-") as tmp:
        main(Path(tmp))
