"""Kokoro's graph rewritten for the CPU (backends/kokoro_graph.py) against the int8 graph as it ships: word error
rate by whisper on every stock voice, synthesis time in the same run, and the time to build a session."""
from __future__ import annotations

import base64
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from backends.kokoro import SAMPLE_RATE, cpu_graph, onnx_session, read_bundled_model
from backends.kokoro_timing import duration_output
from bench.common import save
from bench.kokoro_peers import LONG, with_int8_graph
from bench.voice_quality import SENTENCES
from common.logs import setup_logging
from jobcore import audio
from jobcore.settings import Settings
from jobcore.worker import Worker
from tests.support.speech import transcribe, wer

log = logging.getLogger(__name__)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
COLUMNS = ("variant", "median ms", "ratio to rewritten")


def speak(worker: Worker, text: str, voice: str) -> tuple[float, float, float]:
    """(seconds, seconds of audio, word error rate) of one non-streamed wav job."""
    started = time.perf_counter()
    result = worker.handle({"text": text, "voice": voice, "format": "wav"})
    elapsed = time.perf_counter() - started
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    return elapsed, len(samples) / rate, wer(text, transcribe(samples, rate))


def session_build_s() -> dict[str, float]:
    """Median time to build one single-threaded session over each graph (what a cold start pays per session)."""
    import onnxruntime as ort

    model, digest = read_bundled_model()
    graphs = {"int8_graph": model + duration_output(),
              "rewritten": cpu_graph(model, digest, lambda: model)[0] + duration_output()}
    times: dict[str, list[float]] = {name: [] for name in graphs}
    for _ in range(ROUNDS):
        for name, graph in graphs.items():
            started = time.perf_counter()
            onnx_session(ort, graph, 1)
            times[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(t) * 1e3, 1) for name, t in times.items()}


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workers = {"rewritten": Worker.from_settings(Settings(voice_library_uri=str(Path(tmp) / "a"), warmup=False)),
                   "int8_graph": with_int8_graph(Worker.from_settings(
                       Settings(voice_library_uri=str(Path(tmp) / "b"), warmup=False)))}
        voices = [v["id"] for v in workers["rewritten"].handle({"action": "voices.list"})["voices"]]
        errors: dict[str, list[float]] = {name: [] for name in workers}
        per_voice: dict[str, dict[str, float]] = {}
        for voice in voices:
            for name, worker in workers.items():
                scores = [speak(worker, text, voice)[2] for text in (*SENTENCES, LONG)]
                errors[name] += scores
                per_voice.setdefault(voice, {})[name] = round(statistics.mean(scores), 3)
        times: dict[str, list[float]] = {name: [] for name in workers}
        audio_s: dict[str, float] = {}
        for _ in range(ROUNDS):
            for name, worker in workers.items():
                elapsed, seconds, _ = speak(worker, LONG, "jm_kumo")
                times[name].append(elapsed)
                audio_s[name] = seconds
        for worker in workers.values():
            worker.backend.close()
    medians = {f"long/{name}": statistics.median(t) for name, t in times.items()}
    result = {"benchmark": "kokoro_graph", "rounds": ROUNDS,
              "median_ms": {k: round(v * 1e3, 1) for k, v in medians.items()},
              "ratio_to_rewritten": {k: round(v / medians["long/rewritten"], 3) for k, v in medians.items()},
              "audio_s": {name: round(s, 2) for name, s in audio_s.items()},
              "mean_wer": {name: round(statistics.mean(e), 4) for name, e in errors.items()},
              "wer_by_voice": per_voice, "session_build_ms": session_build_s(),
              "load_average": [round(x, 2) for x in os.getloadavg()], "sample_rate": SAMPLE_RATE,
              "notes": "mean_wer: whisper tiny.en over bench/voice_quality.py's four sentences and the "
                       f"{len(LONG)}-character passage of bench/kokoro_peers.py, on every stock voice, each graph "
                       "through the worker (non-streamed wav jobs). long/*: the passage with jm_kumo, both graphs "
                       "in turn per round, medians. session_build_ms: one single-threaded session over each graph "
                       "(the rewritten one folds its dequantized weights and lays out its convolutions then)."}
    save("kokoro_graph", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
