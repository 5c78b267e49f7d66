"""Stock voice quality: whisper tiny.en word error rate and real-time factor per Kokoro voice (picks the default)."""
from __future__ import annotations

import base64
import logging
import tempfile
import time

from bench.common import save
from common.logs import setup_logging
from jobcore import audio
from jobcore.settings import Settings
from jobcore.worker import Worker
from tests.support.speech import transcribe, wer

log = logging.getLogger(__name__)
COLUMNS = ("voice", "mean word error rate", "real-time factor / the best voice's")   # headers in BENCHMARKS.md
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the quiet river bank.",
    "Dr. Smith paid $12.50 for 3 books on Jan. 5th, 2024.",
    "Please call me back before 7:45 pm, or send an e-mail to the front desk.",
    "About 50% of the 1,250 members voted for the new library on Main St.",
]


def run() -> dict:
    with tempfile.TemporaryDirectory() as lib:
        worker = Worker.from_settings(Settings(voice_library_uri=lib))
        voices = [v["id"] for v in worker.handle({"action": "voices.list"})["voices"]]
        rows = {}
        for voice in voices:
            errors, synth_s, audio_s = [], 0.0, 0.0
            for text in SENTENCES:
                started = time.perf_counter()
                result = worker.handle({"text": text, "voice": voice, "format": "wav"})
                synth_s += time.perf_counter() - started
                samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
                audio_s += len(samples) / rate
                errors.append(wer(text, transcribe(samples, rate)))
            rows[voice] = {"wer": round(sum(errors) / len(errors), 3), "rtf": round(synth_s / audio_s, 3)}
    best = min(rows, key=lambda v: (rows[v]["wer"], rows[v]["rtf"]))
    result = {"benchmark": "voice_quality", "rounds": len(SENTENCES),
              "median_ms": {v: r["wer"] for v, r in rows.items()},
              "ratio_to_" + best: {v: round(r["rtf"] / rows[best]["rtf"], 3) for v, r in rows.items()},
              "levels": rows, "best_voice": best,
              "notes": "Word error rate = the mean (whisper tiny.en, both sides through the worker's "
                       "normalizer) over the sentences; the last column = real-time factor relative to the best voice. "
                       f"Lowest WER: {best} (the backend's default voice)."}
    save("voice_quality", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
