"""Kokoro's graph for onnxruntime's CPU kernels: integer convolutions as float 2-D ones over the same int8 weights.

The int8 export runs each convolution as DynamicQuantizeLinear + ConvInteger (uint8 x uint8, no fast kernel on
x86) and every 1-D convolution on the im2col path. Rewritten, a convolution takes its float input directly, its
weights are the same uint8 values behind a DequantizeLinear that onnxruntime folds into float weights once, when
the session is built (so the file stays int8-sized), and it runs as a 2-D convolution of height 1, which
onnxruntime's NCHWc transformer lays out for its blocked kernels. The matrix products stay integer. Measured: 0.76
of the int8 graph's time on one thread (four sentences), 0.80 in the worker on the suite's passage
(bench/kokoro_peers.py), the duration predictor's output unchanged (tests/backends/test_kokoro_graph.py).
Needs `onnx`: run at bake time (builder) or once at load when the model was not baked. At bake the graph is also
written in the layout that builds a session fastest (kokoro_layout).
"""
from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from common.errors import BackendUnavailable

log = logging.getLogger(__name__)

#: metadata key marking a rewritten graph (a second rewrite is a no-op)
MARK = "tts-worker.kokoro_graph"
VERSION = "1"


def is_rewritten(model) -> bool:
    return any(p.key == MARK for p in model.metadata_props)


def is_rewritten_bytes(model: bytes) -> bool:
    """Without parsing: protobuf writes ModelProto's metadata (field 14) after its graph, at the end."""
    return MARK.encode() in model[-4096:]


def for_cpu(model_bytes: bytes) -> bytes:
    """The rewritten graph's bytes (same inputs, outputs and intermediate tensor names as before)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_from_string(model_bytes)
    except DecodeError as exc:
        raise BackendUnavailable(f"the Kokoro model is not an ONNX graph ({exc})",
                                 hint="bake it again from the official source") from None
    if is_rewritten(model):
        return model_bytes
    graph = model.graph
    rewrite = _Rewrite(graph)
    floated = rewrite.integer_convolutions()
    widened = rewrite.one_d_convolutions()
    rewrite.drop_dead()
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, MARK: VERSION})
    log.info("Kokoro graph for the CPU: %d integer convolutions as float, %d 1-D convolutions as 2-D",
             floated, widened)
    return model.SerializeToString()


def store_weights_4d(model) -> int:
    """In place, on a rewritten graph (a ModelProto): each dequantized convolution weight stored in the 4-D shape its
    2-D convolution takes (DequantizeLinear then reads it as it is), so onnxruntime folds it into float weights once
    instead of twice (dequantized, then reshaped). Same values; returns how many."""
    return _Rewrite(model.graph).weights_stored_4d()


class _Rewrite:
    def __init__(self, graph):
        self.graph = graph
        self.inits = {i.name: i for i in graph.initializer}
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)
        self.added: list = []
        self.ranks: dict[str, int] = {}      # computed (dequantized) weights
        self._axes = None

    def array(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        return numpy_helper.to_array(self.inits[name])

    def initializer(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        if name not in self.inits:
            tensor = numpy_helper.from_array(value, name)
            self.graph.initializer.append(tensor)
            self.inits[name] = tensor
        return name

    def integer_convolutions(self) -> int:
        """DynamicQuantizeLinear -> ConvInteger [-> Add(int bias)] -> Cast -> Mul(scale): one float Conv."""
        from onnx import helper

        count, nodes = 0, list(self.graph.node)
        replaced: dict[int, object] = {}
        gone: set[int] = set()
        for conv in nodes:
            if conv.op_type != "ConvInteger" or conv.input[1] not in self.inits:
                continue
            quantize = self.producer.get(conv.input[0])
            chain = self._chain_to_scale(conv)
            if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or chain is None:
                continue
            scale_mul = self.producer.get(next(i for i in chain[-1].input if i != chain[-2].output[0]))
            weight_scale = [i for i in (scale_mul.input if scale_mul is not None else ()) if i in self.inits]
            if scale_mul is None or scale_mul.op_type != "Mul" or len(weight_scale) != 1:
                continue
            weights = self._dequantized_weights(conv, weight_scale[0])
            inputs = [quantize.input[0], weights]
            bias_add = next((n for n in chain if n.op_type == "Add"), None)
            if bias_add is not None:
                bias = self._float_bias(next(i for i in bias_add.input if i != conv.output[0]))
                if bias is None:
                    continue
                inputs.append(bias)
            attributes = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
            name = f"{conv.name or conv.output[0]}_float"
            node = helper.make_node("Conv", inputs, [chain[-1].output[0]], name=name, **attributes)
            replaced[id(chain[-1])] = node
            gone.update(id(n) for n in (conv, *chain[:-1]))
            count += 1
        kept = [replaced.get(id(n), n) for n in nodes if id(n) not in gone]
        self._set_nodes(kept)
        return count

    def _chain_to_scale(self, conv):
        """The single-consumer path from the integer conv to the Mul that scales it back to float (at least a Cast
        before it)."""
        chain, current = [], conv
        for _ in range(3):
            following = self.consumers.get(current.output[0], [])
            if len(following) != 1 or following[0].op_type not in ("Add", "Cast", "Mul"):
                return None
            chain.append(following[0])
            if following[0].op_type == "Mul":
                return chain if len(chain) > 1 else None
            current = following[0]
        return None

    def _dequantized_weights(self, conv, scale_name: str) -> str:
        """DequantizeLinear over the uint8 weights, folded into float weights when the session starts (with
        `session.disable_quant_qdq`, which `kokoro.onnx_session` sets: otherwise onnxruntime keeps it per call)."""
        from onnx import helper

        base = conv.input[1]
        out = f"{base}_dequantized"
        if out in self.ranks:
            return out
        zero = conv.input[3] if len(conv.input) > 3 else ""
        per_channel = int(np.prod(self.inits[scale_name].dims)) > 1
        self.added.append(helper.make_node("DequantizeLinear", [base, scale_name, zero], [out],
                                           **({"axis": 0} if per_channel else {})))
        self.ranks[out] = len(self.inits[base].dims)
        return out

    def _float_bias(self, quantized: str) -> str | None:
        """The float bias the export quantized per call (Reshape(Cast(Floor(Div(bias, scale)))))."""
        name = quantized
        for _ in range(6):
            if name in self.inits:
                return name if self.inits[name].data_type == 1 and len(self.inits[name].dims) == 1 else None
            node = self.producer.get(name)
            if node is None or not node.input:
                return None
            name = node.input[0]
        return None

    def one_d_convolutions(self) -> int:
        """Conv over [N, C, L] as Unsqueeze -> Conv over [N, C, 1, L] -> Squeeze (same output name)."""
        from onnx import helper

        count, kept = 0, []
        for node in self.graph.node:
            rank = self._weight_rank(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
            if rank != 3:
                kept.append(node)
                continue
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            kernel = attributes.get("kernel_shape")
            pads = attributes.get("pads", [0, 0])
            wide = dict(attributes, kernel_shape=[1, kernel[0]] if kernel else None, pads=[0, pads[0], 0, pads[1]],
                        strides=[1, *attributes.get("strides", [1])], dilations=[1, *attributes.get("dilations", [1])])
            wide = {k: v for k, v in wide.items() if v is not None}
            axes = self._axis()
            weights = self._weights_4d(node.input[1], axes)
            out = node.output[0]
            kept += [helper.make_node("Unsqueeze", [node.input[0], axes], [f"{out}_4d_in"]),
                     helper.make_node("Conv", [f"{out}_4d_in", weights, *node.input[2:]], [f"{out}_4d"],
                                      name=f"{node.name or out}_2d", **wide),
                     helper.make_node("Squeeze", [f"{out}_4d", axes], [out])]
            count += 1
        self._set_nodes(kept)
        return count

    def _weight_rank(self, name: str) -> int | None:
        return len(self.inits[name].dims) if name in self.inits else self.ranks.get(name)

    def _weights_4d(self, name: str, axes: str) -> str:
        """Initializers get their height axis stored; computed (dequantized) weights an Unsqueeze, folded too."""
        from onnx import helper

        if name in self.inits:
            return self.initializer(f"{name}_4d", self.array(name)[:, :, None, :])
        out = f"{name}_4d"
        if not any(out in n.output for n in self.added):
            self.added.append(helper.make_node("Unsqueeze", [name, axes], [out]))
        return out

    def weights_stored_4d(self) -> int:
        """DequantizeLinear(uint8 3-D weights) -> Unsqueeze(height): the uint8 weights stored 4-D, the Unsqueeze gone
        (DequantizeLinear's per-channel axis 0 stays the output channels)."""
        from onnx import numpy_helper

        count, gone = 0, set()
        for node in self.graph.node:
            weights = node.input[0] if node.op_type == "DequantizeLinear" and node.input else None
            following = self.consumers.get(node.output[0], []) if weights in self.inits else []
            if (len(following) != 1 or following[0].op_type != "Unsqueeze" or len(self.consumers[weights]) != 1
                    or len(self.inits[weights].dims) != 3 or following[0].input[1] not in self.inits
                    or self.array(following[0].input[1]).tolist() != [2]):
                continue
            self.inits[weights].CopyFrom(numpy_helper.from_array(self.array(weights)[:, :, None, :], weights))
            node.output[0] = following[0].output[0]
            gone.add(id(following[0]))
            count += 1
        self._set_nodes([n for n in self.graph.node if id(n) not in gone])
        return count

    def _axis(self) -> str:
        if self._axes is None:
            self._axes = self.initializer("tts_worker_height_axis", np.array([2], np.int64))
        return self._axes

    def _set_nodes(self, nodes) -> None:
        del self.graph.node[:]
        self.graph.node.extend(nodes)

    def drop_dead(self) -> None:
        """Put the weight subgraphs first, then drop nodes and initializers nothing reads any more."""
        nodes = [*self.added, *self.graph.node]
        self.added = []
        outputs = {o.name for o in self.graph.output}
        while True:
            used = {i for n in nodes for i in n.input} | outputs
            alive = [n for n in nodes if any(o in used for o in n.output)]
            if len(alive) == len(nodes):
                break
            nodes = alive
        self._set_nodes(nodes)
        used = {i for n in nodes for i in n.input}
        alive_inits = [i for i in self.graph.initializer if i.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(alive_inits)
