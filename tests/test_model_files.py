"""TFLite export, the SDK interpreter and manifests: every variant runs, bad model files are refused."""

import json

import numpy as np
import pytest

from momentsense.quantize.export import check_representative, export_tflite, write_model
from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.models.interpreter import load_model
from momentsense.sdk.models.manifest import Manifest, TensorSpec, load_verified_model, read_manifest


@pytest.fixture(scope="module")
def tiny_model():
    from momentsense.edge_models.transport_cnn import build_transport_cnn

    m = build_transport_cnn(32, 4, 3, seed=0)  # the real architecture (~20k weights) on short windows
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 32, 4)).astype(np.float32)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, rng.integers(0, 3, 64), epochs=1, verbose=0)
    return m, x


@pytest.fixture(scope="module")
def exported(tiny_model):
    m, x = tiny_model
    return {mode: export_tflite(m, mode, x if mode == "int8" else None) for mode in ("float32", "float16", "dynamic", "int8")}


class TestExport:
    @pytest.mark.parametrize("mode", ["float32", "float16", "dynamic", "int8"])
    def test_every_variant_runs_and_agrees_with_keras(self, tiny_model, exported, mode):
        """Each variant runs in the SDK interpreter; float variants match Keras closely, int8 roughly."""
        m, x = tiny_model
        tfl = load_model(exported[mode])
        assert tfl.backend == "ai_edge_litert"
        got = tfl.run_batch(x[:16])
        want = m.predict(x[:16], verbose=0)
        tol = {"float32": 1e-5, "float16": 1e-2, "dynamic": 5e-2, "int8": 0.1}[mode]
        np.testing.assert_allclose(got, want, atol=tol)

    def test_int8_has_quantized_input_and_output(self, exported):
        tfl = load_model(exported["int8"])
        assert tfl.input_spec.dtype == "int8" and tfl.output_spec.dtype == "int8"
        assert tfl.input_spec.scale > 0 and tfl.output_spec.scale > 0

    def test_int8_is_much_smaller_than_float32(self, exported):
        """int8 weights take a quarter of float32's; per-channel scales, zero points and int32 biases
        add overhead (measured 34 % of float32 for the unpruned architecture; the shipped
        channel-pruned lean export is 18 %)."""
        assert len(exported["int8"]) < 0.4 * len(exported["float32"])

    def test_int8_refuses_missing_empty_or_misshaped_representative_set(self, tiny_model):
        m, _ = tiny_model
        with pytest.raises(InputError, match="representative set"):
            export_tflite(m, "int8", None)
        with pytest.raises(InputError, match="empty"):
            export_tflite(m, "int8", np.zeros((0, 32, 4)))
        with pytest.raises(InputError, match=r"shape \(N, 32, 4\)"):
            export_tflite(m, "int8", np.zeros((5, 30, 4)))

    def test_unknown_mode(self, tiny_model):
        with pytest.raises(InputError, match="mode must be one of"):
            export_tflite(tiny_model[0], "int4")


class TestModelFiles:
    def test_written_model_loads_verified(self, exported, tmp_path):
        path, manifest = write_model(exported["int8"], tmp_path, "tiny", "1.2.3", "transport", ["a", "b", "c"],
                                     metrics={"macro_f1": 0.5})  # fmt: skip
        data, back = load_verified_model(path)
        assert back == manifest and back.input.dtype == "int8" and back.input.shape == (1, 32, 4)
        assert Manifest.from_dict(json.loads((tmp_path / "tiny.json").read_text())) == manifest

    def test_refuses_model_that_does_not_match_its_manifest(self, exported, tmp_path):
        path, _ = write_model(exported["int8"], tmp_path, "tiny", "1.0.0", "transport")
        path.write_bytes(exported["float32"])
        with pytest.raises(ModelError, match="does not match its manifest"):
            load_verified_model(path)

    def test_refuses_truncated_and_non_tflite_files(self, exported, tmp_path):
        p = tmp_path / "t.tflite"
        p.write_bytes(exported["float32"][:10])
        with pytest.raises(ModelError, match="too short"):
            load_model(p)
        p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
        with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
            load_model(p)
        p.write_bytes(exported["float32"][: len(exported["float32"]) // 2])
        with pytest.raises(ModelError):
            load_model(p)

    def test_missing_model_file(self, tmp_path):
        with pytest.raises(ModelError, match="not found"):
            load_model(tmp_path / "none.tflite")

    def test_manifest_errors_name_the_problem(self, tmp_path):
        p = tmp_path / "m.json"
        p.write_text("{not json")
        with pytest.raises(ModelError, match="not valid JSON"):
            read_manifest(p)
        p.write_text(json.dumps({"name": "x", "version": "1.0.0"}))
        with pytest.raises(ModelError, match="lacks the required field 'task'"):
            read_manifest(p)
        with pytest.raises(ModelError, match="semantic"):
            Manifest("x", "v1", "t", TensorSpec((1,)), TensorSpec((1,)), "0" * 64)

    def test_input_shape_is_checked(self, exported):
        with pytest.raises(ModelError, match=r"input must have shape \(1, 32, 4\)"):
            load_model(exported["float32"]).run(np.zeros((1, 31, 4)))
