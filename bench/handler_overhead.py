"""Worker overhead: a warm `Worker.handle` job (wav, base64) versus raw backend synthesis of the same sentences."""
from __future__ import annotations

import cProfile
import logging
import pstats
import statistics
import tempfile

import numpy as np

from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore.pipeline import prepare_text
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 6
VOICE = "jm_kumo"
TEXT = "The meeting moved to Thursday at 3 pm, in room 12. Please bring the draft budget and your questions."


def _hot_spots(fn, skip: tuple[str, ...], top: int = 8) -> list[list]:
    """cProfile one call; the functions with the most own time, leaving out the model itself."""
    profile = cProfile.Profile()
    profile.runcall(fn)
    stats = pstats.Stats(profile).stats
    rows = [(tt, f"{path.rsplit('/', 1)[-1]}:{line}:{name}") for (path, line, name), (_, _, tt, _, _) in stats.items()
            if not any(s in name or s in path for s in skip)]
    return [[where, round(tt * 1e3, 2)] for tt, where in sorted(rows, reverse=True)[:top]]


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=tmp))   # CPU default: kokoro, all cores, warmed up
        backend = worker.backend
        embedding = worker.library.embedding(VOICE, backend.embedding_key)
        sentences = prepare_text(TEXT, backend.capabilities.max_chars)
        job_input = {"text": TEXT, "voice": VOICE, "format": "wav", "output": "base64"}
        stages: list[dict] = []

        def handle():
            result = worker.handle(job_input)
            assert "audio_base64" in result, result
            stages.append(result["timings_ms"])

        def raw_synthesis():
            np.concatenate([chunk.audio for chunks in backend.synthesize_many(sentences, embedding) for chunk in chunks])

        times = interleaved({"raw_synthesis": raw_synthesis, "worker_handle": handle}, ROUNDS)
        total = sum(s["total"] for s in stages)
        share = {k: round(sum(s[k] for s in stages) / total, 5) for k in ("voice", "synth", "encode", "deliver")}
        hot = _hot_spots(handle, skip=("onnxruntime",))
    paired = statistics.median(h / r for h, r in zip(times["worker_handle"], times["raw_synthesis"]))
    result = {"benchmark": "handler_overhead", "sentences": len(sentences), **summary(times, "raw_synthesis"),
              "paired_ratio_median": round(paired, 4), "target_ratio": 1.03,
              "worker_stage_share": share, "non_synth_share": round(1 - share["synth"], 5),
              "hot_spots_ms": hot,
              "notes": "raw_synthesis = backend.synthesize_many() (the worker's own synthesis path) on the same normalized "
                       "sentences with the same "
                       "embedding, concatenated. worker_handle = Worker.handle with the voice cached, wav, base64: "
                       "schema parse, voice lookup, the same synthesis, silence trim and pauses, WAV encode, "
                       "base64. paired_ratio_median = median over rounds of handle/raw (each pair run back to "
                       "back). worker_stage_share = the worker's own timings_ms per stage over total "
                       "(synth includes G2P, trim and pauses); non_synth_share = the rest. hot_spots_ms = own "
                       "time per function in one profiled job, model run excluded."}
    save("handler_overhead", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
