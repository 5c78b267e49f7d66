"""Output cache: a repeated 200-character job served from S3 versus the same job synthesized, and the hit rate
of a replayed mix of repeated prompts."""
from __future__ import annotations

import logging
import random
import tempfile
import time
from pathlib import Path

from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker
from storage.s3_store import S3Store
from tests.support.seaweed import seaweed_server

log = logging.getLogger(__name__)
ROUNDS = 5
TEXT = ("Caching finished audio means a prompt that many users send, like a greeting or a menu option, "
        "is synthesized once; every repeat is a read from object storage and a signed link or a copy of bytes.")
PROMPTS = [f"Option {n}: press {n} to hear about {topic}." for n, topic in enumerate(
    ["billing", "opening hours", "your order", "returns", "delivery", "accounts", "support", "offers", "stores",
     "careers", "privacy", "gift cards", "payments", "warranty", "recalls"], 1)]
REPLAYED = 30


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp, seaweed_server(Path(tmp) / "weed", "benchkey", "benchsecret-0123") as s3:
        S3Store.from_uri("s3://bench", endpoint_url=s3.endpoint_url, access_key_id=s3.access_key,
                         secret_access_key=s3.secret_key).ensure_bucket()
        settings = Settings(voice_library_uri="s3://bench/lib", s3_endpoint_url=s3.endpoint_url,
                            s3_access_key_id=s3.access_key, s3_secret_access_key=s3.secret_key, warmup=True)
        worker = Worker.from_settings(settings)
        job = {"text": TEXT, "format": "mp3"}
        assert worker.handle(job)["cached"] is False

        def check(result, cached):
            if "error" in result or result.get("cached", False) is not cached:
                raise RuntimeError(f"unexpected result: {str(result)[:300]}")

        times = interleaved({"cache_hit": lambda: check(worker.handle(job), True),
                             "cache_hit_url": lambda: check(worker.handle({**job, "output": "url"}), True),
                             "synthesized": lambda: check(worker.handle({**job, "cache": False}), False)}, ROUNDS, warmup=0)

        rng = random.Random(12)   # a skewed mix: a few prompts are asked far more often than the rest
        weights = [1 / rank for rank in range(1, len(PROMPTS) + 1)]
        replay = rng.choices(PROMPTS, weights, k=REPLAYED)
        before = worker.outputs.cache.stats()
        started = time.perf_counter()
        for prompt in replay:
            worker.handle({"text": prompt, "format": "mp3"})
        cached_s = time.perf_counter() - started
        started = time.perf_counter()
        for prompt in replay:
            worker.handle({"text": prompt, "format": "mp3", "cache": False})
        uncached_s = time.perf_counter() - started
        after = worker.outputs.cache.stats()
        hits = after["hits"] - before["hits"]
        result = {"benchmark": "output_cache", "chars": len(TEXT), **summary(times, "cache_hit"),
                  "replay": {"jobs": REPLAYED, "distinct_prompts": len(set(replay)), "hits": hits,
                             "hit_rate": round(hits / REPLAYED, 3), "with_cache_s": round(cached_s, 2),
                             "without_cache_s": round(uncached_s, 2),
                             "speedup": round(uncached_s / cached_s, 2)},
                  "notes": "Kokoro on this machine's CPU, library on SeaweedFS on loopback. cache_hit = the job "
                           "answered inline from the cache (sidecar read + object read); cache_hit_url = the same "
                           "answered as a presigned URL (sidecar read only); synthesized = the same job with "
                           "cache: false. replay = 30 jobs drawn from 15 one-sentence prompts with 1/rank "
                           "weights, once with the cache (empty at start) and once with cache: false. Measured on a "
                           "machine shared with other work (load average near 10 on 2 cores)."}
    result["levels"] = result.pop("replay")
    save("output_cache", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
