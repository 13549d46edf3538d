"""Run every shipped .tflite model in another interpreter and compare with LiteRT's outputs.

Phones run older TFLite runtimes (python-for-android's recipe builds 2.8; PyPI's tflite-runtime is
2.14 and needs numpy < 2), so shipped models must keep op versions those load. Two steps, because the
two interpreters cannot share one environment:

    python scripts/check_old_runtime.py dump OUT.npz          # in the project env (ai_edge_litert)
    /path/to/tflite-env/bin/python scripts/check_old_runtime.py check OUT.npz   # numpy<2 + tflite-runtime

``check`` exits 1 if a model fails to load or its outputs differ beyond 1e-5 (float) / 1 step (int8).
Only numpy and the interpreter are imported, so it runs without the project installed.
"""

import json
import sys
from pathlib import Path

import numpy as np

ART = Path(__file__).resolve().parents[1] / "edge_models" / "artifacts"


def _run(interp_cls, path: Path, x: np.ndarray) -> np.ndarray:
    it = interp_cls(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for row in x:
        if hasattr(it, "reset_all_variables"):
            it.reset_all_variables()  # fused LSTMs keep state between invocations
        it.set_tensor(inp["index"], row[None].astype(inp["dtype"]))
        it.invoke()
        ys.append(it.get_tensor(out["index"])[0].astype(np.float64))
    return np.stack(ys)


def dump(out: str) -> None:
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(0)
    arrays, meta = {}, {}
    for p in sorted(ART.glob("*.tflite")):
        it = Interpreter(model_path=str(p))
        d = it.get_input_details()[0]
        shape = tuple(int(v) for v in d["shape"][1:])
        if np.dtype(d["dtype"]) == np.int8:
            x = rng.integers(-128, 128, size=(8,) + shape).astype(np.int8)
        else:
            x = rng.normal(size=(8,) + shape).astype(np.float32)
        arrays[p.stem + ".x"] = x
        arrays[p.stem + ".y"] = _run(Interpreter, p, x)
        meta[p.stem] = str(np.dtype(it.get_output_details()[0]["dtype"]))
    np.savez(out, meta=json.dumps(meta), **arrays)
    print(f"dumped {len(meta)} models to {out}")


def check(path: str) -> int:
    from tflite_runtime.interpreter import Interpreter

    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    bad = 0
    for stem, out_dtype in meta.items():
        try:
            y = _run(Interpreter, ART / f"{stem}.tflite", data[stem + ".x"])
        except Exception as exc:  # a model the old runtime refuses is exactly what this check is for
            print(f"FAIL {stem}: does not load/run in tflite-runtime: {exc}")
            bad += 1
            continue
        tol = 1.0 if out_dtype == "int8" else 1e-5
        diff = float(np.max(np.abs(y - data[stem + ".y"])))
        ok = diff <= tol
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {stem}: max |tflite-runtime - litert| = {diff:.3g} (tolerance {tol:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "check"):
        sys.exit(__doc__)
    sys.exit(dump(sys.argv[2]) if sys.argv[1] == "dump" else check(sys.argv[2]))
