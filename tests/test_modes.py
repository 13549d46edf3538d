"""The one registry of transport modes (sdk.modes): sets, speeds, colours, and adding a mode."""

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.modes import (
    MODES,
    Mode,
    busy_modes,
    drive_continue_modes,
    get_mode,
    mode_names,
    public_modes,
    register_mode,
    unregister_mode,
    vehicle_modes,
)


@pytest.fixture
def tram():
    """A tram: public transport, registered for one test and removed afterwards."""
    from momentsense.sdk.sim import vehicles

    mode = register_mode(Mode("tram", vehicle=True, public=True, busy=True, continues_drive=True,
                              typical_speed_mps=6.0, trip_speed_kmh=15.0, colour="#00bcd4"))  # fmt: skip

    def draw_tram(rng):  # a bus-like ride with rail joints, slower and with more stops
        bus = vehicles.draw_vehicle("bus", rng)
        import dataclasses

        return dataclasses.replace(bus, kind="tram", cruise_mps=(4.0, 9.0), stop_prob=0.95, rail_joint_m=20.0,
                                   rail_joint_mps2=0.3, engine_cylinders=0, engine_mps2=0.0)  # fmt: skip

    vehicles.register_vehicle_profile("tram", draw_tram, carried_like="bus")
    yield mode
    vehicles.unregister_vehicle_profile("tram")
    unregister_mode("tram")


class TestRegistry:
    def test_builtin_sets_match_the_runtime_constants(self):
        """The runtime, moments and driving read their sets from the registry."""
        from momentsense.sdk.driving.live import DriveSegmentOptions
        from momentsense.sdk.moments.notify import BUSY_MODES
        from momentsense.sdk.records import PUBLIC_MODES, TRANSPORT_MODES, VEHICLE_MODES

        assert mode_names() == TRANSPORT_MODES == ("still", "walk", "run", "bike", "car", "bus", "train", "subway")
        assert vehicle_modes() == VEHICLE_MODES and public_modes() == PUBLIC_MODES == ("bus", "train", "subway")
        assert busy_modes() == BUSY_MODES == frozenset({"run", "bike", "car", "bus", "train", "subway"})
        assert DriveSegmentOptions().continue_modes == drive_continue_modes() == ("bus", "train", "subway")

    def test_speed_tables_read_the_registry(self):
        from momentsense.trainer.population.profile import SPEED_KMH

        assert SPEED_KMH == {m.name: m.trip_speed_kmh for m in MODES.values() if m.name != "still"}
        assert SPEED_KMH["car"] == 32.0 and MODES["car"].typical_speed_mps == 11.0

    def test_get_mode_fails_with_an_unknown_name_and_lists_the_known(self):
        with pytest.raises(InputError, match="registered: still, walk"):
            get_mode("hovercraft")

    def test_register_mode_fails_with_a_conflicting_definition(self):
        car = MODES["car"]
        assert register_mode(car) is car  # the same again is harmless
        with pytest.raises(InputError, match="already registered"):
            register_mode(Mode("car", True, False, True, False, 20.0, 50.0, "#000000"))

    def test_builtin_modes_cannot_be_removed(self):
        with pytest.raises(InputError, match="built-in"):
            unregister_mode("walk")

    @pytest.mark.parametrize("kw, field", [({"name": "Tram!"}, "name"), ({"colour": "red"}, "colour"),
                                           ({"typical_speed_mps": -1.0}, "typical_speed_mps"),
                                           ({"vehicle": False}, "public")])  # fmt: skip
    def test_mode_fails_with_bad_fields(self, kw, field):
        args = dict(name="tram", vehicle=True, public=True, busy=True, continues_drive=True, typical_speed_mps=6.0,
                    trip_speed_kmh=15.0, colour="#00bcd4")  # fmt: skip
        args.update(kw)
        with pytest.raises(InputError, match=field):
            Mode(**args)

    def test_rgba_is_the_colour_in_0_to_1(self):
        assert MODES["car"].rgba == pytest.approx((0xE5 / 255, 0x39 / 255, 0x35 / 255, 1.0))


class TestAddingAMode:
    def test_a_registered_mode_is_simulated_and_read_by_every_set(self, tram):
        """Registry + one vehicle profile: the simulator produces tram legs labelled with the new
        index, moving at tram speeds, and the sets the runtime reads include it."""
        from momentsense.sdk.moments.notify import is_good_moment  # noqa: F401  (reads busy_modes() live)
        from momentsense.sdk.sim import draw_device, draw_person
        from momentsense.sdk.sim.simulate import SimulatorOptions, simulate_leg

        assert mode_names()[-1] == "tram" and "tram" in vehicle_modes() and "tram" in public_modes()
        assert "tram" in busy_modes() and "tram" in drive_continue_modes()
        res = simulate_leg("tram", 600.0, draw_person("p", 3), draw_device("d", 3), rng=np.random.default_rng(3),
                           t0=1_700_000_000.0, options=SimulatorOptions(gps=True))  # fmt: skip
        rec = res.recording
        assert set(np.unique(rec.label)) == {mode_names().index("tram")}
        assert rec.placement in ("pocket", "hand", "bag")  # carried like a bus
        travelled = float(np.hypot(*res.state.xy_m))
        assert 0.5 * 600 < travelled < 9.0 * 600  # between 0.5 and 9 m/s on average: a tram, not a train
        assert rec.gps is not None and len(rec.gps.t) > 0

    def test_simulating_an_unregistered_mode_fails(self):
        from momentsense.sdk.sim import draw_device, draw_person
        from momentsense.sdk.sim.simulate import simulate_leg

        with pytest.raises(InputError, match="mode must be one of"):
            simulate_leg("tram", 60.0, draw_person("p", 1), draw_device("d", 1))
