"""Batch jobs: 10 short prompts as one batch job versus the same prompts as 10 separate jobs (Kokoro)."""
from __future__ import annotations

import logging
import tempfile

from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 2
PROMPTS = [f"Notification {n}: your {thing} is ready." for n, thing in enumerate(
    ["order", "report", "invoice", "parcel", "ticket", "booking", "refund", "statement", "prescription", "upgrade"], 1)]


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=tmp, warmup=True))   # directory: no output cache
        one_voice = [{"text": p, "format": "mp3"} for p in PROMPTS]

        def check(result):
            if "error" in result or result.get("failed"):
                raise RuntimeError(f"unexpected result: {str(result)[:300]}")

        def separate(items):
            for item in items:
                check(worker.handle(item))

        times = interleaved({
            "separate_jobs": lambda: separate(one_voice),
            "batch": lambda: check(worker.handle({"batch": one_voice})),
        }, ROUNDS, warmup=0)
        result = {"benchmark": "batch", "items": len(PROMPTS), **summary(times, "separate_jobs"),
                  "notes": "Kokoro on this machine's CPU (2 cores), mp3, base64 results, no output cache. "
                           "separate_jobs = 10 worker.handle calls one after another; batch = one batch job of "
                           "the same 10 items (their sentences go to Kokoro's per-core pool in one call per "
                           "voice). Measured on a "
                           "machine shared with other work (load average between 1 and 10 on 2 cores): ratios only."}
        result["paired_ratio_median"] = round(result["median_ms"]["separate_jobs"] / result["median_ms"]["batch"], 3)
    save("batch", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
