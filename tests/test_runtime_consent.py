"""Consent in the runtime: nothing sensed or stored without it; revoking stops sensing and erases that kind."""

import time

import pytest

from momentsense.sdk.consent import ConsentError, ConsentManager
from momentsense.sdk.runtime import MomentSDK, SDKConfig

LEGS = [("still", 420), ("walk", 300), ("car", 600), ("still", 420)]


@pytest.fixture
def consent(tmp_path):
    with ConsentManager(tmp_path / "consent.sqlite") as c:
        yield c


def test_phone_sensors_need_a_consent_manager():
    """source="phone" without consent fails before any sensor is touched (ConsentError, not a plyer error)."""
    sdk = MomentSDK(SDKConfig(source="phone"))
    with pytest.raises(ConsentError, match="need consent"):
        sdk.start()


def test_nothing_runs_or_is_stored_before_motion_consent(consent):
    sdk = MomentSDK(SDKConfig(simulate_legs=LEGS, seed=1), consent=consent)
    with pytest.raises(ConsentError, match="motion"):
        sdk.start()
    assert not sdk.current_context().running and sdk.store.counts()["event"]["items"] == 0


def test_without_location_consent_gps_is_never_used(consent):
    consent.grant("motion", "sensing")
    with MomentSDK(SDKConfig(simulate_legs=LEGS, seed=1), consent=consent) as sdk:
        sdk.start()
        assert sdk.wait(60)
        counts = sdk.store.counts()
        assert counts["event"]["items"] > 0
        assert counts["visit"]["items"] == counts["place"]["items"] == counts["trip"]["items"] == 0
        assert sdk.current_context().last_fix is None


def test_with_both_consents_places_are_stored(consent):
    consent.grant("motion", "sensing"), consent.grant("location", "sensing")
    with MomentSDK(SDKConfig(simulate_legs=LEGS, seed=1), consent=consent) as sdk:
        sdk.start()
        assert sdk.wait(60)
        assert sdk.store.counts()["place"]["items"] >= 1


def test_revoking_location_erases_places_and_keeps_motion(consent):
    consent.grant("motion", "sensing"), consent.grant("location", "sensing")
    with MomentSDK(SDKConfig(simulate_legs=LEGS, seed=1), consent=consent) as sdk:
        sdk.start()
        assert sdk.wait(60)
        n_events = sdk.store.counts()["event"]["items"]
        res = consent.revoke("location")
        assert not res.hook_errors
        counts = sdk.store.counts()
        assert counts["place"]["items"] == counts["visit"]["items"] == counts["trip"]["items"] == 0
        assert counts["event"]["items"] == n_events > 0
    assert [r.action for r in consent.history("location")][-1] == "revoke"


def test_revoking_motion_stops_sensing_within_a_second_and_erases_it(consent):
    consent.grant("motion", "sensing"), consent.grant("location", "sensing")
    sdk = MomentSDK(SDKConfig(simulate_legs=[("walk", 3600)], speed=1.0, chunk_s=0.5), consent=consent)
    sdk.start()
    time.sleep(1.5)
    assert sdk.current_context().running
    t0 = time.perf_counter()
    res = consent.revoke("motion")
    took = time.perf_counter() - t0
    assert not res.hook_errors and took < 1.0, took
    assert not sdk.current_context().running
    assert sdk.store.counts()["event"]["items"] == 0 and sdk.events() == []
    with pytest.raises(ConsentError):
        sdk.start()  # and it stays off until consent is granted again
    sdk.close()
