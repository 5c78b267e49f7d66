"""Kokoro real-time factor: our backend (several onnxruntime settings) versus kokoro-onnx on the same weights."""
from __future__ import annotations

import copy
import logging
import queue
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import numpy as np
import onnxruntime as ort

from backends.kokoro import MODEL_FILE, SAMPLE_RATE, KokoroBackend, read_bundled_model
from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore.pipeline import prepare_text

log = logging.getLogger(__name__)
ROUNDS = 3
VOICE = "jm_kumo"
# Two sentences of similar length, so two workers can take one each.
TEXT = ("The train left the station at nine with two hundred people on board. "
        "Most of them slept before the first stop, and a few watched the rain.")
ALL = ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def session(model: bytes | str, intra: int = 2, inter: int = 1, parallel: bool = False,
            level: ort.GraphOptimizationLevel = ALL, spinning: bool = True) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra
    options.inter_op_num_threads = inter
    options.execution_mode = ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def run() -> dict:
    from kokoro_onnx import Kokoro

    backend = KokoroBackend.load(None, threads=2)   # as the worker builds it here (threads=0 -> all cores)
    table = next(v for v in backend.stock_voices() if v.id == VOICE).embedding["style"]
    phonemes = [backend.phonemize(s) for s in prepare_text(TEXT, backend.capabilities.max_chars)]
    model, _ = read_bundled_model()

    def ours(sess: ort.InferenceSession) -> KokoroBackend:
        clone = copy.copy(backend)         # our exact infer() code, on another session
        clone.session = sess
        return clone

    variants = {
        "ours_default": backend,
        "ours_intra1": ours(session(model, intra=1)),
        "ours_nospin": ours(session(model, spinning=False)),
        "ours_parallel_inter2": ours(session(model, inter=2, parallel=True)),
        "ours_opt_basic": ours(session(model, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)),
        "ours_opt_extended": ours(session(model, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)),
    }
    pair = [ours(session(model, intra=1)), ours(session(model, intra=1))]
    pool = ThreadPoolExecutor(2)

    def two_sessions():
        """Sentence-level parallelism: two single-threaded sessions, each takes the next sentence."""
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for i, p in enumerate(phonemes):
            todo.put((i, p))
        out: dict[int, np.ndarray] = {}

        def work(b: KokoroBackend):
            while True:
                try:
                    i, p = todo.get_nowait()
                except queue.Empty:
                    return
                out[i] = b.infer(p, table)
        list(pool.map(work, pair))
        return [out[i] for i in range(len(phonemes))]

    shared = pair[0]

    def one_session_two_threads():
        """The same with one single-threaded session run from two threads (one model copy in memory)."""
        return list(pool.map(lambda p: shared.infer(p, table), phonemes))

    with tempfile.TemporaryDirectory() as tmp:
        model_path, voices_path = Path(tmp) / MODEL_FILE, Path(tmp) / "voices.npz"
        model_path.write_bytes(model)
        # kokoro-onnx picks row n-1 for n tokens, we pick row n: handing it table[1:] gives both the same vector
        np.savez(voices_path, **{VOICE: table[1:]})
        theirs = Kokoro(str(model_path), str(voices_path))
        theirs_same = Kokoro.from_session(session(str(model_path)), str(voices_path))
        del model

        def kokoro_onnx(k: Kokoro):
            # trim=False: raw model output like our infer(); trimming and pauses are the worker's job in ours
            return lambda: [k.create(p, VOICE, speed=1.0, is_phonemes=True, trim=False)[0] for p in phonemes]

        candidates = {"kokoro_onnx": kokoro_onnx(theirs), "kokoro_onnx_our_session": kokoro_onnx(theirs_same)}
        candidates |= {name: (lambda b=b: [b.infer(p, table) for p in phonemes]) for name, b in variants.items()}
        candidates |= {"ours_2_sessions_1_thread_each": two_sessions,
                       "ours_1_session_2_threads": one_session_two_threads}
        # same inputs, same weights: every candidate must make the same amount of audio
        lengths = {name: sum(len(a) for a in fn()) for name, fn in candidates.items()}
        audio_s = lengths["kokoro_onnx"] / SAMPLE_RATE
        assert len(set(lengths.values())) == 1, lengths
        times = interleaved(candidates, ROUNDS, warmup=0)   # the length check above was the warm-up pass
    pool.shutdown()
    result = summary(times, "kokoro_onnx")
    result = {"benchmark": "kokoro_vs_kokoro_onnx", "kokoro_onnx": metadata.version("kokoro-onnx"),
              "audio_s": round(audio_s, 3), "sentences": len(phonemes),
              "rtf": {k: round(v / 1e3 / audio_s, 3) for k, v in result["median_ms"].items()}, **result,
              "notes": "Ratio = our RTF / kokoro-onnx's RTF on the same int8 weights, style vector, phonemes "
                       "(hibari G2P, one call per sentence) and speed; below 1 = faster than kokoro-onnx. "
                       "kokoro_onnx = its own session (onnxruntime defaults); _our_session = our session options "
                       "passed with Kokoro.from_session. ours_default = intra 2, inter 1, sequential, all graph "
                       "optimizations; the others change one setting. 2_sessions = two intra-1 sessions on two "
                       "threads, one sentence each. Other jobs share this machine, so spinning thread pools "
                       "lose time to them."}
    save("kokoro_vs_kokoro_onnx", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
