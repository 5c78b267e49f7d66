"""At bake: Kokoro's rewritten graph written in the layout whose onnxruntime sessions build fastest at start-up.

Three things, each measured on this 2-core host (interleaved runs): the dequantized convolution weights are stored
4-D (kokoro_graph.store_weights_4d: onnxruntime folds 220 MB of float weights once, not twice); the initializers live
in a data file beside each graph (read straight into tensors instead of copied out of a 92 MB protobuf): 0.81 of the
session build's CPU together; and the graph is cut where the decoder begins, into the text side (tokens, style, speed
-> the decoder's inputs and the durations) and the decoder (-> audio), two sessions the worker builds side by side
(kokoro_session.build_session): 0.66 of the session's wall time alone; in a whole start on 2 cores the session is
then done before the Python side (imports, the RunPod SDK), which sets the time. The parts compute exactly what the
whole graph does; the bake checks that on a sample before it keeps the cut."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .kokoro_graph import store_weights_4d

log = logging.getLogger(__name__)

DATA_SUFFIX = ".data"
PART_NAMES = ("text", "decoder")
_DECODER, _TEXT = "/decoder/", "/encoder/"      # the exports' node names follow the PyTorch modules


def part_files(model_file: str) -> tuple[str, ...]:
    """The files write_session_files makes for `model_file` when it cuts the graph (as the bundled model's is)."""
    path = Path(model_file)
    graphs = [f"{path.stem}.{name}{path.suffix}" for name in PART_NAMES]
    return tuple(name for graph in graphs for name in (graph, graph + DATA_SUFFIX))


def write_session_files(graph: bytes, path: Path) -> list[list[str]]:
    """`graph` (kokoro_graph.for_cpu, its outputs declared) as session files next to `path`: the text side and the
    decoder (`<stem>.text.onnx`, `<stem>.decoder.onnx`) where the graph has that cut and the two compute what it does,
    else `path` itself; each with its initializers in `<file>.data`. Returns [[graph file, data file], ...] in the
    order they run."""
    import onnx

    model = onnx.load_from_string(graph)
    store_weights_4d(model)
    parts = decoder_cut(model)
    if parts is not None and not same_outputs(model, parts):
        log.warning("the Kokoro graph's two parts do not compute what the whole graph does; baked whole")
        parts = None
    if parts is None:
        return [_save(model, path)]
    names = part_files(path.name)[::2]
    return [_save(part, path.with_name(name)) for name, part in zip(names, parts)]


def _save(model, path: Path) -> list[str]:
    import onnx

    data = path.with_name(path.name + DATA_SUFFIX)
    path.unlink(missing_ok=True)
    data.unlink(missing_ok=True)               # onnx appends to an existing data file
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name,
                    size_threshold=1024)
    data.chmod(path.stat().st_mode & 0o777)    # onnx writes it owner-only; the image's worker user reads it
    return [path.name, data.name]


def decoder_cut(model):
    """(text side, decoder) as two ModelProtos, or None where the graph has no clean cut: the decoder's inputs are the
    tensors its nodes read from the text side's nodes (plus graph inputs such as the style); everything the audio
    needs beyond them must be the decoder's own, and the text side must need nothing of the decoder's."""
    from onnx import helper

    graph = model.graph
    nodes = list(graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output}
    graph_inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    cut = sorted({name for node in nodes if node.name.startswith(_DECODER) for name in node.input
                  if name in producer and nodes[producer[name]].name.startswith(_TEXT)})
    if not cut:
        return None
    decoder, decoder_reads = _upstream(nodes, producer, outputs[:1], set(cut))
    text, text_reads = _upstream(nodes, producer, cut + outputs[1:], set())
    decoder_inputs, text_inputs = decoder_reads & set(graph_inputs), text_reads & set(graph_inputs)
    # every node on one side; on both only nodes that read nothing another node makes (the style's split, say)
    if len(decoder | text) != len(nodes) or any(producer.get(name) is not None
                                                for i in decoder & text for name in nodes[i].input):
        return None
    known = {v.name: v for v in (*graph.value_info, *graph.input, *graph.output)}

    def value(name: str):
        return known.get(name) or helper.make_tensor_value_info(name, 1, None)    # a float the cut carries

    def part(kept: set[int], inputs: list[str], outs: list[str], name: str):
        chosen = [node for i, node in enumerate(nodes) if i in kept]
        read = {n for node in chosen for n in node.input}
        sub = helper.make_graph(chosen, name, [value(n) for n in inputs], [value(n) for n in outs],
                                [t for t in graph.initializer if t.name in read])
        made = helper.make_model(sub, opset_imports=model.opset_import, ir_version=model.ir_version)
        made.metadata_props.extend(model.metadata_props)
        return made

    text_outputs = cut + outputs[1:]
    return (part(text, [n for n in graph_inputs if n in text_inputs], text_outputs, "kokoro-text"),
            part(decoder, cut + [n for n in graph_inputs if n in decoder_inputs], outputs[:1], "kokoro-decoder"))


def _upstream(nodes, producer: dict[str, int], targets: list[str], stop: set[str]) -> tuple[set[int], set[str]]:
    """The nodes `targets` need, back to `stop`; and what they read that no node makes (graph inputs, initializers)."""
    needed: set[int] = set()
    reads: set[str] = set()
    pending = list(targets)
    while pending:
        name = pending.pop()
        if not name or name in stop:
            continue
        index = producer.get(name)
        if index is None:
            reads.add(name)
        elif index not in needed:
            needed.add(index)
            pending.extend(nodes[index].input)
    return needed, reads


def same_outputs(model, parts) -> bool:
    """The chained parts give the whole graph's outputs, bit for bit, on a sample (one thread each)."""
    import onnxruntime as ort

    from .kokoro_session import ChainedSession, onnx_session

    rng = np.random.default_rng(0)
    feeds = {"style": (rng.standard_normal((1, 256)) * 0.1).astype(np.float32), "speed": np.ones(1, np.float32)}
    tokens = next(i.name for i in model.graph.input if i.name not in feeds)
    feeds[tokens] = np.array([[0, *rng.integers(16, 150, 40), 0]], np.int64)
    whole = onnx_session(ort, model.SerializeToString(), 1).run(None, feeds)
    chained = ChainedSession([onnx_session(ort, part.SerializeToString(), 1) for part in parts]).run(None, feeds)
    return len(whole) == len(chained) and all(np.array_equal(a, b) for a, b in zip(whole, chained))
