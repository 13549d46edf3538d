"""Pruning, channel pruning, QAT and the compression sweep's pieces, on a tiny transport CNN."""

import gzip

import numpy as np
import pytest

from momentsense.quantize.export import export_tflite, write_model
from momentsense.quantize.measure import latency_side_by_side, plot_report
from momentsense.quantize.prune import (
    FineTuneOptions,
    channel_prune,
    magnitude_prune,
    qat_fine_tune,
    weight_sparsity,
)
from momentsense.trainer.transport.compress import Variant, default_sweep, recommend
from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.models.interpreter import load_model

FAST = FineTuneOptions(epochs=2, batch_size=32, learning_rate=1e-3, max_windows=None)


def _data(n=192, seed=0):
    """Three classes that differ in the frequency of a sine on channel 0 (learnable in a few steps)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.arange(32)
    x = rng.normal(0, 0.3, size=(n, 32, 4)).astype(np.float32)
    x[:, :, 0] += np.sin(2 * np.pi * (1 + 3 * y)[:, None] * t / 32)
    return x, y


@pytest.fixture(scope="module")
def trained():
    from momentsense.edge_models.transport_cnn import build_transport_cnn, keras

    keras().utils.set_random_seed(0)
    m = build_transport_cnn(32, 4, 3, seed=0)
    x, y = _data()
    m.compile(keras().optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=3, batch_size=32, verbose=0)
    return m, x, y


@pytest.fixture(scope="module")
def plain_int8(trained):
    m, x, _ = trained
    return export_tflite(m, "int8", x)


@pytest.fixture(scope="module")
def pruned(trained):
    m, x, y = trained
    before = m.get_weights()
    out = magnitude_prune(m, x, y, 0.7, FAST)
    return out, before


class TestMagnitudePruning:
    def test_stripped_weights_reach_the_target_sparsity(self, trained, pruned):
        """Sparsity is counted on the stripped model's kernels, not taken from the schedule."""
        m, _, _ = trained
        p, before = pruned
        s = weight_sparsity(p)
        assert s.kernel_sparsity >= 0.7 - 0.02
        assert s.nonzero < 0.4 * weight_sparsity(m).nonzero
        assert not any("PruneLowMagnitude" in type(l).__name__ for l in p.layers)  # stripped
        assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))  # the input model is untouched

    def test_pruned_tflite_is_the_same_size_but_gzips_smaller(self, trained, pruned):
        m, _, _ = trained
        pruned = pruned[0]
        dense, sparse = export_tflite(m, "float32"), export_tflite(pruned, "float32")
        assert abs(len(sparse) - len(dense)) < 0.02 * len(dense)  # zeros are still stored
        assert len(gzip.compress(sparse, 9)) < 0.75 * len(gzip.compress(dense, 9))

    @pytest.mark.parametrize("target", [0.0, 1.0, -0.1])
    def test_refuses_a_target_outside_0_1(self, trained, target):
        m, x, y = trained
        with pytest.raises(InputError, match="sparsity"):
            magnitude_prune(m, x, y, target, FAST)

    def test_refuses_wrongly_shaped_fine_tuning_windows(self, trained):
        m, x, y = trained
        with pytest.raises(InputError, match=r"shape \(N, 32, 4\)"):
            magnitude_prune(m, x[:, :16], y, 0.5, FAST)
        with pytest.raises(InputError, match="labels"):
            magnitude_prune(m, x, y + 5, 0.5, FAST)


class TestChannelPruning:
    def test_copy_without_fine_tuning_keeps_the_largest_filters(self, trained):
        """keep=1 reproduces the model exactly; keep=0.5 keeps conv0's filters with the largest L1 norm."""
        m, x, y = trained
        same = channel_prune(m, x, y, 1.0, FineTuneOptions(epochs=0))
        np.testing.assert_allclose(same.predict(x[:8], verbose=0), m.predict(x[:8], verbose=0), atol=1e-6)
        half = channel_prune(m, x, y, 0.5, FineTuneOptions(epochs=0))
        k0 = m.get_layer("conv0").get_weights()[0]
        top = np.sort(np.argsort(-np.abs(k0).sum(axis=(0, 1, 2)))[:8])
        np.testing.assert_array_equal(half.get_layer("conv0").get_weights()[0], k0[..., top])

    def test_fewer_parameters_and_a_working_smaller_tflite(self, trained, plain_int8):
        m, x, y = trained
        narrow = channel_prune(m, x, y, 0.5, FAST)
        assert [l.filters for l in narrow.layers if type(l).__name__ == "Conv2D"] == [8, 16, 24, 32]
        assert weight_sparsity(narrow).params < 0.35 * weight_sparsity(m).params
        small, big = export_tflite(narrow, "int8", x), plain_int8
        assert len(small) < 0.6 * len(big)
        out = load_model(small).run_batch(x[:16])
        assert out.shape == (16, 3) and np.allclose(out.sum(1), 1, atol=0.05)

    def test_refuses_bad_keep(self, trained):
        m, x, y = trained
        with pytest.raises(InputError, match="keep"):
            channel_prune(m, x, y, 0.0, FAST)


class TestQat:
    def test_qat_model_converts_to_int8_with_int8_input_and_output(self, trained):
        m, x, y = trained
        qat = qat_fine_tune(m, x, y, FineTuneOptions(epochs=1, batch_size=32, learning_rate=1e-3, max_windows=None))
        data = export_tflite(qat, "int8", x)
        tfl = load_model(data)
        assert tfl.input_spec.dtype == "int8" and tfl.output_spec.dtype == "int8"
        agree = np.mean(tfl.run_batch(x[:64]).argmax(1) == qat.predict(x[:64], verbose=0).argmax(1))
        assert agree >= 0.9


    def test_qat_names_layers_tfmot_cannot_quantize(self):
        """Conv1D is not in tfmot's 8-bit registry (the reason the CNN uses 1 × k Conv2D)."""
        from momentsense.edge_models.transport_cnn import keras

        k = keras()
        inp = k.layers.Input((32, 4))
        m = k.Model(inp, k.layers.Dense(3, activation="softmax")(k.layers.GlobalAveragePooling1D()(k.layers.Conv1D(4, 3, name="c1d")(inp))))
        x, y = _data(16)
        with pytest.raises(InputError, match="c1d"):
            qat_fine_tune(m, x, y, FAST)


class TestLeanExport:
    def test_per_tensor_stripped_int8_is_smaller_and_predicts_the_same(self, trained, plain_int8):
        m, x, _ = trained
        plain, lean = plain_int8, export_tflite(m, "int8", x, per_tensor=True, strip=True)
        assert len(lean) < len(plain) - 1000
        a, b = load_model(plain), load_model(lean)
        assert b.input_spec.dtype == "int8" and b.input_spec.shape == (1, 32, 4)
        assert np.mean(a.run_batch(x[:64]).argmax(1) == b.run_batch(x[:64]).argmax(1)) >= 0.9


class TestBadInput:
    def test_empty_or_misshaped_representative_set_is_refused_before_conversion(self, trained, monkeypatch):
        import tensorflow as tf

        def boom(*a, **k):
            raise AssertionError("conversion started")

        monkeypatch.setattr(tf.lite.TFLiteConverter, "from_concrete_functions", boom)
        monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", boom)
        m, x, _ = trained
        with pytest.raises(InputError, match="empty"):
            export_tflite(m, "int8", np.zeros((0, 32, 4), np.float32))
        with pytest.raises(InputError, match=r"shape \(N, 32, 4\)"):
            export_tflite(m, "int8", x[:, :, :3])

    def test_a_non_tflite_file_is_refused(self, tmp_path):
        with pytest.raises(ModelError):
            write_model(b"PK\x03\x04 this is a zip, not a flatbuffer" * 4, tmp_path, "bad", "1.0.0", "transport")
        p = tmp_path / "model.keras"
        p.write_bytes(b"PK\x03\x04" + bytes(200))
        with pytest.raises(ModelError):
            load_model(p)

    @pytest.mark.parametrize("kw", [{"mode": "int4"}, {"sparsity": 1.0}, {"keep": 0.0}, {"mode": "float16", "qat": True}, {"sparsity": 0.5, "qat": True}, {"qat": True, "lean": True}])
    def test_impossible_variants_are_refused(self, kw):
        with pytest.raises(InputError):
            Variant(**kw)


class TestSweepPieces:
    def test_variant_names_round_trip(self):
        for v in default_sweep():
            assert Variant.parse(v.name) == v
        assert Variant.parse("ch0.5-qat-int8") == Variant("int8", 0.0, 0.5, True)
        with pytest.raises(InputError):
            Variant.parse("int3")

    def test_recommendation_takes_the_smallest_int8_meeting_size_and_f1_targets(self):
        def row(name, mode, b, f1_ok, size_ok=True, fast=True):
            t = {"size_le_quarter_float32": size_ok, "size_le_64kb": size_ok, "f1_within_1pt": f1_ok, "not_slower_than_float32": fast}
            return {"variant": name, "mode": mode, "tflite_bytes": b, "targets": t}

        rows = [row("float32", "float32", 90000, True, False), row("int8", "int8", 30000, True, False),
                row("ch0.5-int8", "int8", 14000, False), row("ch0.75-int8", "int8", 20000, True), row("s0.7-int8", "int8", 19000, True, True, False)]  # fmt: skip
        assert recommend(rows, 0.65)[0] == "ch0.75-int8"
        assert recommend(rows[:3], 0.65)[0] == "int8"  # none meets the size target: smallest within 1 F1 point

    def test_latency_is_measured_for_every_variant_and_the_plot_is_written(self, trained, plain_int8, tmp_path):
        m, x, _ = trained
        blobs = {"float32": export_tflite(m, "float32"), "int8": plain_int8}
        lat = latency_side_by_side(blobs, x[:8], rounds=2, per_round=10)
        for name in blobs:
            v = lat["variants"][name]
            assert 0 < v["invoke_median"] <= v["invoke_p95"] and v["run_median"] > 0 and v["n"] == 20
        rows = [{"variant": n, "mode": n, "tflite_bytes": len(b), "macro_f1": 0.5} for n, b in blobs.items()]
        report = {"variants": rows, "keras": {"macro_f1": 0.5}, "test_windows": 8, "float32_reference_bytes": len(blobs["float32"]), "recommended": "int8"}
        path = plot_report(report, tmp_path / "report.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
