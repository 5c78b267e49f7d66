"""Kokoro's onnxruntime session: its options, and a baked session file's session started on a thread at the very
beginning of start-up (light: imports neither numpy nor the backend base, so it can run first)."""
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
                                     # the baked file declares it an output already, and the graph's own revision


def bake_record(model_dir: str | None) -> dict:
    """What the bake wrote in TIMING_FILE ({} without one): `duration_tensor`; `declared`, whether the model file
    declares it an output already (kokoro_timing.declare_duration_output); `revision`, the graph's own id."""
    path = Path(model_dir) / TIMING_FILE if model_dir else None
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def session_file(model_dir: str | None) -> Path | None:
    """A baked model onnxruntime reads from its path: rewritten for the CPU with its duration output declared at
    bake, so nothing is appended in Python."""
    if not model_dir or bake_record(model_dir).get("declared") is not True:
        return None
    return next((p for p in (Path(model_dir) / n for n in MODEL_FILES) if p.is_file()), None)


def onnx_session(ort, model: bytes | str, threads: int, providers=("CPUExecutionProvider",)):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # fold the rewritten graph's DequantizeLinear weights into float ones once, here (kokoro_graph)
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return ort.InferenceSession(model, sess_options=options, providers=list(providers))


def build_session(ort, path: Path, threads: int, device: str):
    """A session on a session file, and the providers it was asked for."""
    providers = tuple(choose_providers(device, ort.get_available_providers()))
    return onnx_session(ort, str(path), threads or os.cpu_count() or 1, providers), providers


# sessions started ahead on a session file, by its path (with the threads and device they are built for), until the
# load takes them
_early: dict[str, tuple[int, str, Future]] = {}
_early_lock = threading.Lock()


def start_session(model_dir: str | None, threads: int = 0, device: str = "auto") -> None:
    """Start building the session file's session on a thread of its own (once per file); nothing without one. The
    load takes it (take_session) only once the file matched its manifest."""
    path = session_file(model_dir)
    if path is None:
        return
    import onnxruntime as ort  # here: the building thread imports nothing

    with _early_lock:
        if str(path) in _early:
            return
        building = ThreadPoolExecutor(1, thread_name_prefix="kokoro-session")
        _early[str(path)] = (threads, device, building.submit(build_session, ort, path, threads, device))
    building.shutdown(wait=False)


def take_session(path: Path, threads: int, device: str) -> Future | None:
    """The session started for `path`, if it was started for these threads and device (else it is dropped)."""
    with _early_lock:
        early = _early.pop(str(path), None)
    return early[2] if early is not None and early[:2] == (threads, device) else None
