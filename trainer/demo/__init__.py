"""``momentsense demo``: the main job on embedded defaults (simulated sensors, the SDK pipeline)."""
