"""Kokoro's onnxruntime session: its options, a baked model's session (its parts built side by side, run as one) started
on a thread at the very beginning of start-up (light: imports neither numpy nor the backend base, so it can run
first)."""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .onnx_device import choose_providers

MODEL_FILE = "kokoro-v1.0.int8.onnx"
MODEL_FILES = ("kokoro-v1.0.onnx", MODEL_FILE)   # the official full model when baked, else the int8 one
TIMING_FILE = "kokoro-timing.json"   # written at bake time: the duration tensor's name in the baked graph, whether
                                     # the baked files declare it an output already, the graph's own revision, and
                                     # the session files (kokoro_layout)


def bake_record(model_dir: str | None) -> dict:
    """What the bake wrote in TIMING_FILE ({} without one): `duration_tensor`; `declared`, whether the model files
    declare it an output already (kokoro_timing.declare_duration_output); `revision`, the graph's own id; `parts`,
    the session files in the order they run, each [graph, data file] (kokoro_layout)."""
    path = Path(model_dir) / TIMING_FILE if model_dir else None
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def session_files(model_dir: str | None) -> list[list[Path]] | None:
    """A baked model's files onnxruntime reads from their paths, [[graph, data file], ...] in the order the parts run:
    rewritten for the CPU with the duration output declared at bake, so nothing is appended in Python. Bakes from
    before kokoro_layout: the one model file."""
    record = bake_record(model_dir)
    if not model_dir or record.get("declared") is not True:
        return None
    if record.get("parts"):
        return [[Path(model_dir) / Path(name).name for name in part] for part in record["parts"]]
    model = next((p for p in (Path(model_dir) / n for n in MODEL_FILES) if p.is_file()), None)
    return [[model]] if model is not None else None


class ChainedSession:
    """Sessions that run one after the other as one model: each part reads the job's inputs and what earlier parts
    computed; the outputs are the last part's, then the earlier parts' that no later part reads (the durations)."""

    def __init__(self, parts: list):
        self.parts = parts
        later_reads = [{i.name for p in parts[k + 1:] for i in p.get_inputs()} for k in range(len(parts))]
        self._outputs = [o for k in reversed(range(len(parts))) for o in parts[k].get_outputs()
                         if o.name not in later_reads[k]]

    def get_inputs(self):
        return self.parts[0].get_inputs()

    def get_outputs(self):
        return self._outputs

    def get_providers(self):
        return self.parts[0].get_providers()

    def run(self, output_names, feeds: dict) -> list:
        values = dict(feeds)
        for part in self.parts:
            names = [o.name for o in part.get_outputs()]
            values.update(zip(names, part.run(names, {i.name: values[i.name] for i in part.get_inputs()})))
        return [values[name] for name in (output_names or [o.name for o in self._outputs])]


def onnx_session(ort, model: bytes | str, threads: int, providers=("CPUExecutionProvider",)):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # fold the rewritten graph's DequantizeLinear weights into float ones once, here (kokoro_graph)
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return ort.InferenceSession(model, sess_options=options, providers=list(providers))


def build_session(ort, paths: list[Path], threads: int, device: str):
    """The session of a baked model's parts (each built on a thread of its own, then run as one), and the providers it
    was asked for."""
    providers = tuple(choose_providers(device, ort.get_available_providers()))
    threads = threads or os.cpu_count() or 1
    if len(paths) == 1:
        return onnx_session(ort, str(paths[0]), threads, providers), providers
    with ThreadPoolExecutor(len(paths), thread_name_prefix="kokoro-part") as building:
        parts = list(building.map(lambda path: onnx_session(ort, str(path), threads, providers), paths))
    return ChainedSession(parts), providers


# sessions started ahead on a baked model, by its first file's path (with the threads and device they are built for),
# until the load takes them
_early: dict[str, tuple[int, str, Future]] = {}
_early_lock = threading.Lock()


def start_session(model_dir: str | None, threads: int = 0, device: str = "auto") -> None:
    """Start building the baked model's session on a thread of its own (once per model); nothing without one. The
    load takes it (take_session) only once the files matched their manifest."""
    files = session_files(model_dir)
    if files is None:
        return
    import onnxruntime as ort  # here: the building thread imports nothing

    graphs = [part[0] for part in files]
    with _early_lock:
        if str(graphs[0]) in _early:
            return
        building = ThreadPoolExecutor(1, thread_name_prefix="kokoro-session")
        _early[str(graphs[0])] = (threads, device, building.submit(build_session, ort, graphs, threads, device))
    building.shutdown(wait=False)


def take_session(path: Path, threads: int, device: str) -> Future | None:
    """The session started for the model whose first file is `path`, if it was started for these threads and device
    (else it is dropped)."""
    with _early_lock:
        early = _early.pop(str(path), None)
    return early[2] if early is not None and early[:2] == (threads, device) else None
