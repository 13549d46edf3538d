"""Record comparison for stream-vs-batch tests: equal, with floats equal to a stated tolerance.

The numpy filters (sdk/dsp/filters.py) compute a chunk with small matrix products, so chunking a
stream differently changes float rounding (~1e-12 relative); times, modes, kinds and counts must
still be exactly equal.
"""

import dataclasses
import math

#: Relative (and absolute) tolerance on float fields.
REL = 1e-9


def same_records(a, b, rel: float = REL) -> bool:
    """True when ``a`` and ``b`` (records, lists, tuples, dicts, numbers, strings) are equal, floats to ``rel``."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(same_records(getattr(a, f.name), getattr(b, f.name), rel)
                                          for f in dataclasses.fields(a))
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=rel)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same_records(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_records(a[k], b[k], rel) for k in a)
    return a == b
