"""Exact Kokoro word timings: the graph's per-phoneme durations as an extra output, mapped back to words."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import WordTiming
from .kokoro_session import TIMING_FILE, bake_record

# The duration predictor's rounded frame counts, after division by `speed` and clipped to >= 1: one value
# per input token (pads included). Found by `find_duration_tensor` in the bundled int8 graph.
DURATION_TENSOR = "/encoder/Clip_output_0"
SAMPLES_PER_FRAME = 600          # 24 kHz audio: len(audio) == sum(durations) * 600 (checked in the tests)
_SPOKEN = re.compile(r"\w")


def baked_tensor(model_dir: str | None) -> str:
    """The duration tensor's name recorded by the bake, or the bundled graph's."""
    return bake_record(model_dir).get("duration_tensor") or DURATION_TENSOR


def declare_duration_output(graph: bytes) -> tuple[bytes, str | None]:
    """At bake: the graph with its duration tensor declared an output, so the worker can hand onnxruntime the
    file's path (no copy of the model in Python: 0.2 s less CPU and 180 MB less memory at start-up), and the
    tensor's name; None and the graph as it was when it has no such tensor (needs `onnx`)."""
    tensor = find_duration_tensor(graph)
    return (graph + duration_output(tensor) if tensor else graph), tensor


def write_bake_record(dest: Path, graph: bytes, tensor: str | None, parts: list[list[str]]) -> None:
    """TIMING_FILE for model files written from `declare_duration_output(graph)` (kokoro_layout's `parts`, in the order
    they run); its revision stays the graph's (the sha256's first 12 characters), so voices stored under it keep
    working."""
    record = {"duration_tensor": tensor, "declared": tensor is not None,
              "revision": hashlib.sha256(graph).hexdigest()[:12], "parts": parts}
    (dest / TIMING_FILE).write_text(json.dumps(record) + "\n", encoding="utf-8")


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2); lengths here are < 2**14."""
    size = len(payload)
    varint = bytes([size]) if size < 0x80 else bytes([(size & 0x7F) | 0x80, size >> 7])
    return bytes([number << 3 | 2]) + varint + payload


def duration_output(tensor: str = DURATION_TENSOR) -> bytes:
    """A ModelProto fragment declaring `tensor` a float graph output.

    Protobuf merges concatenated messages (repeated fields append), so `model_bytes + duration_output()` is
    the same model with one more output, without parsing 92 MB or importing `onnx` (0.8 s at cold start).
    The tests check this fragment against `onnx`'s own ModelProto."""
    elem_type = b"\x08\x01"                                   # TensorProto.FLOAT
    type_proto = _field(1, elem_type)                         # TypeProto.tensor_type
    value_info = _field(1, tensor.encode()) + _field(2, type_proto)
    return _field(7, _field(12, value_info))                  # ModelProto.graph -> GraphProto.output


def find_duration_tensor(model: bytes) -> str | None:
    """The Clip(Round(Div(durations, speed))) output in a Kokoro graph, by structure (needs `onnx`; bake time)."""
    import onnx

    graph = onnx.load_from_string(model).graph
    producer = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.op_type != "Clip" or not node.input:
            continue
        rounded = producer.get(node.input[0])
        divided = producer.get(rounded.input[0]) if rounded is not None and rounded.op_type == "Round" else None
        if divided is not None and divided.op_type == "Div" and "speed" in divided.input:
            return node.output[0]
    return None


@dataclass(frozen=True)
class Spoken:
    """One sentence's phoneme string and, for each spoken word, its span of characters in that string."""

    phonemes: str
    words: list[tuple[str, int, int]]


def phonemize_words(g2p, text: str) -> Spoken:
    """The G2P's own tokens, joined as its __call__ joins them, remembering where each word's phonemes sit."""
    from hibari.g2p.normalize import normalize

    tokens = g2p.phonemize_tokens(g2p.tokenize(normalize(text)))
    out, words, cursor = [], [], 0
    for token in tokens:
        phonemes = g2p.unk if token.phonemes is None else token.phonemes
        if phonemes and _SPOKEN.search(token.text):
            words.append((token.text, cursor, cursor + len(phonemes)))
        piece = phonemes + (" " if token.whitespace else "")
        out.append(piece)
        cursor += len(piece)
    joined = "".join(out)
    lead = len(joined) - len(joined.lstrip())
    return Spoken(joined.strip(), [(w, a - lead, b - lead) for w, a, b in words])


def word_timings(phonemes: str, words: list[tuple[str, int, int]], vocab: dict[str, int],
                 durations: np.ndarray, sample_rate: int) -> list[WordTiming]:
    """Each word's start and end in the audio of `phonemes`, from the per-token frame counts.

    Characters outside the vocabulary were never fed to the model, so they take no time; the first
    duration belongs to the leading pad token. The durations already include the speed."""
    frames = np.asarray(durations, dtype=np.float64).ravel()
    fed = np.array([c in vocab for c in phonemes], dtype=bool)
    index = np.cumsum(fed) - fed             # token index (after the pad) of each character
    ends = np.cumsum(frames)                 # frame at which token i ends; token 0 is the pad
    per_frame = SAMPLES_PER_FRAME / sample_rate
    out = []
    for word, start, end in words:
        chars = np.flatnonzero(fed[start:end]) + start
        if chars.size == 0:
            continue
        first, last = index[chars[0]] + 1, index[chars[-1]] + 1
        if last >= len(frames):              # cut by the model's context
            break
        out.append(WordTiming(word, round(float(ends[first - 1]) * per_frame, 3), round(float(ends[last]) * per_frame, 3)))
    return out


def piece_words(spoken: Spoken, pieces: list[str]) -> list[list[tuple[str, int, int]]]:
    """Split a sentence's word spans among the phoneme pieces it was cut into (spans relative to each piece)."""
    if len(pieces) == 1:
        return [spoken.words]
    out, cursor = [], 0
    for piece in pieces:
        start = spoken.phonemes.find(piece[:16], cursor) if piece else -1
        if start < 0:
            out.append([])
            continue
        end = start + len(piece)
        out.append([(w, a - start, b - start) for w, a, b in spoken.words if a >= start and b <= end])
        cursor = end
    return out
