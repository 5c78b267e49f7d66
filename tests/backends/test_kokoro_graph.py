"""Kokoro's graph rewritten for the CPU (float 2-D convolutions over the same int8 weights) computes what it did."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from backends import kokoro_graph, kokoro_layout
from backends.kokoro import cpu_graph, onnx_session, read_bundled_model
from backends.kokoro_session import ChainedSession, build_session
from backends.kokoro_timing import duration_output

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ("The ferry left the harbor at a quarter to eight with three hundred passengers aboard.",
             "Nobody guessed that the engine would stop halfway across the bay.",
             "Yes.")


def conv1d_model(seed: int = 0) -> onnx.ModelProto:
    """x [1, 8, 50] -> Conv1d(8->16, k=5, pad 2, bias) -> LeakyRelu -> Conv1d(16->4, k=3, dilation 2, no bias)."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (16, 8, 5)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, 16).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (4, 16, 3)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["h"], kernel_shape=[5], pads=[2, 2]),
         helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.2),
         helper.make_node("Conv", ["a", "w2"], ["y"], kernel_shape=[3], pads=[2, 2], dilations=[2])],
        "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 50])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 50])], [w1, b1, w2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: bytes, x: np.ndarray) -> np.ndarray:
    return onnx_session(ort, model, 1).run(None, {"x": x})[0]


def ops(model: bytes) -> Counter:
    return Counter(node.op_type for node in onnx.load_from_string(model).graph.node)


def test_float_1d_convolutions_become_2d_ones_with_the_same_output():
    model = conv1d_model().SerializeToString()
    rewritten = kokoro_graph.for_cpu(model)
    x = np.random.default_rng(1).normal(size=(1, 8, 50)).astype(np.float32)
    np.testing.assert_allclose(run(rewritten, x), run(model, x), rtol=1e-5, atol=1e-5)
    convs = [n for n in onnx.load_from_string(rewritten).graph.node if n.op_type == "Conv"]
    assert len(convs) == 2 and all(len(helper.get_attribute_value(a)) == 2
                                   for n in convs for a in n.attribute if a.name == "kernel_shape")


def test_integer_convolutions_become_float_ones_over_the_dequantized_weights(tmp_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx.save(conv1d_model(), tmp_path / "float.onnx")
    # the export's own recipe: dynamic quantization, uint8 weights (Kokoro's int8 model is built this way)
    quantize_dynamic(tmp_path / "float.onnx", tmp_path / "int8.onnx", weight_type=QuantType.QUInt8,
                     op_types_to_quantize=["Conv"])
    quantized = (tmp_path / "int8.onnx").read_bytes()
    assert ops(quantized)["ConvInteger"] == 2
    rewritten = kokoro_graph.for_cpu(quantized)
    assert ops(rewritten)["ConvInteger"] == 0 and ops(rewritten)["DynamicQuantizeLinear"] == 0

    # the same weights: what the rewritten graph computes equals the float graph over the dequantized weights
    model = onnx.load_from_string(quantized)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    reference = conv1d_model()
    for tensor in reference.graph.initializer:
        if tensor.name in ("w1", "w2"):
            q = next(v for k, v in inits.items() if k.startswith(tensor.name) and v.dtype == np.uint8 and v.ndim == 3)
            zero = next(v for k, v in inits.items() if k.startswith(tensor.name) and k.endswith("zero_point"))
            scale = next(v for k, v in inits.items() if k.startswith(tensor.name) and k.endswith("scale"))
            tensor.CopyFrom(numpy_helper.from_array((q.astype(np.float32) - zero) * scale, tensor.name))
    x = np.random.default_rng(2).normal(size=(1, 8, 50)).astype(np.float32)
    np.testing.assert_allclose(run(rewritten, x), run(reference.SerializeToString(), x), rtol=1e-4, atol=1e-4)
    assert not np.allclose(run(quantized, x), run(rewritten, x), atol=1e-6)   # the per-call activation rounding is gone


def test_the_bundled_graph_is_rewritten_once_and_marked():
    model = read_bundled_model()[0]
    rewritten = kokoro_graph.for_cpu(model)
    counts = ops(rewritten)
    assert counts["ConvInteger"] == 0 and counts["Conv"] == 88 and counts["MatMulInteger"] == ops(model)["MatMulInteger"]
    assert kokoro_graph.is_rewritten_bytes(rewritten) and not kokoro_graph.is_rewritten_bytes(model)
    assert kokoro_graph.for_cpu(rewritten) is rewritten
    assert len(rewritten) < len(model) * 1.01                 # the weights stay uint8 in the file


@pytest.fixture(scope="module")
def both_graphs():
    """The original int8 graph and the rewritten one, each with its duration output, on one thread."""
    model, digest = read_bundled_model()
    rewritten, revision, _ = cpu_graph(model, digest, lambda: model)
    assert revision != digest[:12]                            # new audio: a new backend revision (cache keys)
    extra = duration_output()
    return onnx_session(ort, model + extra, 1), onnx_session(ort, rewritten + extra, 1)


def test_durations_and_lengths_are_those_of_the_int8_graph(kokoro_worker, both_graphs):
    """Sentence boundaries, pauses and word timings come from the duration predictor: unchanged, frame for frame."""
    backend = kokoro_worker.backend
    style = backend.stock_voices()[0].embedding["style"]
    before, after = both_graphs
    for sentence in SENTENCES:
        phonemes = backend.phonemize(sentence)
        old_audio, old_durations = backend.infer_timed(phonemes, style, 1.0, before)
        new_audio, new_durations = backend.infer_timed(phonemes, style, 1.0, after)
        np.testing.assert_array_equal(new_durations, old_durations)
        assert new_audio.size == old_audio.size
        # the same speech, not only the same length: the two waveforms' envelopes follow each other
        frames = lambda a: np.sqrt(np.mean(a[: a.size // 600 * 600].reshape(-1, 600) ** 2, axis=1))  # noqa: E731
        assert np.corrcoef(frames(old_audio), frames(new_audio))[0, 1] > 0.9


def test_the_worker_runs_the_rewritten_graph(kokoro_worker):
    assert kokoro_worker.backend.revision.endswith(f"-g{kokoro_graph.VERSION}")


def test_a_baked_model_is_rewritten_at_bake_and_loads_without_onnx(tmp_path):
    """The image prunes `onnx`: its worker must load the baked graph as it is, importing nothing to rewrite it."""
    dest = tmp_path / "models"
    subprocess.run([sys.executable, "-m", "builder", "bake", "--backend", "kokoro", "--dest", str(dest)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert all(kokoro_graph.is_rewritten_bytes((dest / name).read_bytes())
               for name in ("kokoro-v1.0.int8.text.onnx", "kokoro-v1.0.int8.decoder.onnx"))
    child = ("import sys, json\n"
             "sys.modules['onnx'] = None\n"                  # importing onnx now raises ImportError
             "from backends.kokoro import KokoroBackend\n"
             f"b = KokoroBackend.load({str(dest)!r})\n"
             "style = b.stock_voices()[0].embedding['style']\n"
             "audio = b.infer(b.phonemize('Hello there.'), style)\n"
             "print(json.dumps({'revision': b.revision, 'samples': int(audio.size)}))\n")
    out = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["samples"] > 12_000 and "-g" not in report["revision"]


def test_the_session_files_compute_exactly_what_the_rewritten_graph_does(kokoro_worker, both_graphs, tmp_path):
    """kokoro_layout (the bake's layout: weights stored 4-D, the text side and the decoder as two graphs, each with a
    data file): the same audio and durations, sample for sample, as the rewritten graph they were written from."""
    rewritten = kokoro_graph.for_cpu(read_bundled_model()[0]) + duration_output()
    parts = kokoro_layout.write_session_files(rewritten, tmp_path / "model.onnx")
    assert parts == [["model.text.onnx", "model.text.onnx.data"], ["model.decoder.onnx", "model.decoder.onnx.data"]]
    assert all((tmp_path / graph).stat().st_size < 2_000_000 for graph, _ in parts)
    assert sum((tmp_path / data).stat().st_size for _, data in parts) > 85_000_000       # the weights, once
    graphs = [onnx.load(tmp_path / graph, load_external_data=False).graph for graph, _ in parts]
    assert [[o.name for o in g.output] for g in graphs] == [
        [*(i.name for i in graphs[1].input if i.name != "style"), "/encoder/Clip_output_0"], ["audio"]]
    dequantized = {o for g in graphs for n in g.node if n.op_type == "DequantizeLinear" for o in n.output}
    assert sum(n.op_type == "Conv" and n.input[1] in dequantized for g in graphs for n in g.node) == 87  # read 4-D
    assert not any(n.op_type == "Unsqueeze" and n.input[0] in dequantized for g in graphs for n in g.node)
    backend = kokoro_worker.backend
    style = backend.stock_voices()[0].embedding["style"]
    chained, _ = build_session(ort, [tmp_path / graph for graph, _ in parts], 1, "cpu")
    assert isinstance(chained, ChainedSession) and [o.name for o in chained.get_outputs()] == [
        "audio", "/encoder/Clip_output_0"]
    for sentence in SENTENCES:
        phonemes = backend.phonemize(sentence)
        audio, durations = backend.infer_timed(phonemes, style, 1.0, both_graphs[1])
        file_audio, file_durations = backend.infer_timed(phonemes, style, 1.0, chained)
        np.testing.assert_array_equal(file_durations, durations)
        np.testing.assert_array_equal(file_audio, audio)


def test_a_graph_without_the_decoder_cut_is_written_whole(tmp_path):
    parts = kokoro_layout.write_session_files(conv1d_model().SerializeToString(), tmp_path / "convs.onnx")
    assert parts == [["convs.onnx", "convs.onnx.data"]]
    x = np.random.default_rng(3).normal(size=(1, 8, 50)).astype(np.float32)
    session, _ = build_session(ort, [tmp_path / "convs.onnx"], 1, "cpu")
    np.testing.assert_allclose(session.run(None, {"x": x})[0], run(conv1d_model().SerializeToString(), x), rtol=1e-6)


def test_without_onnx_the_bundled_graph_runs_as_it_is(tmp_path):
    child = ("import sys, json, logging\n"
             "logging.basicConfig(level=logging.WARNING)\n"
             "sys.modules['onnx'] = None\n"
             "from backends.kokoro import KokoroBackend\n"
             "b = KokoroBackend.load(None)\n"
             "print(json.dumps({'revision': b.revision}))\n")
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert "-g" not in json.loads(done.stdout.strip().splitlines()[-1])["revision"]
    assert "integer convolutions" in done.stderr and "install onnx" in done.stderr

