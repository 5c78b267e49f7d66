"""Batch jobs: 16 short prompts as one batch job versus the same prompts as 16 separate jobs (Kokoro)."""
from __future__ import annotations

import logging
import tempfile

from bench.common import interleaved, save, summary
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 5
PROMPTS = [f"Notification {n}: your {thing} is ready." for n, thing in enumerate(
    ["order", "report", "invoice", "parcel", "ticket", "booking", "refund", "statement", "prescription", "upgrade",
     "license", "badge", "photo", "download", "transfer", "appointment"], 1)]


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=tmp, warmup=True))   # directory: no output cache
        one_voice = [{"text": p, "format": "mp3"} for p in PROMPTS]
        two_voices = [{**item, "voice": "jm_kumo" if i % 2 else "jf_alpha"} for i, item in enumerate(one_voice)]

        def check(result):
            if "error" in result or result.get("failed"):
                raise RuntimeError(f"unexpected result: {str(result)[:300]}")

        def separate(items):
            for item in items:
                check(worker.handle(item))

        times = interleaved({
            "separate_jobs": lambda: separate(one_voice),
            "batch": lambda: check(worker.handle({"batch": one_voice})),
            "separate_jobs_two_voices": lambda: separate(two_voices),
            "batch_two_voices": lambda: check(worker.handle({"batch": two_voices})),
            "batch_zip": lambda: check(worker.handle({"batch": one_voice, "zip": True})),
        }, ROUNDS)
        result = {"benchmark": "batch", "items": len(PROMPTS), **summary(times, "separate_jobs"),
                  "notes": "Kokoro on this machine's CPU (2 cores), mp3, base64 results, no output cache. "
                           "separate_jobs = 16 worker.handle calls one after another; batch = one batch job of "
                           "the same 16 items (their sentences go to Kokoro's per-core pool in one call per "
                           "voice); two_voices = items alternate between two voices (two groups); batch_zip = "
                           "the batch with zip: true."}
        result["paired_ratio_median"] = round(result["median_ms"]["separate_jobs"] / result["median_ms"]["batch"], 3)
    save("batch", result)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
