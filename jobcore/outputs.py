"""Finishing a synthesis: serve a repeat from the output cache, or encode, cache (best effort) and deliver."""
from __future__ import annotations

import logging
import time

from backends import Backend
from common.errors import JobError
from common.formats import FORMATS, content_type

from . import audio
from .delivery import Delivery
from .output_cache import EmbeddingDigests, OutputCache, cacheable, output_key
from .synthesis import Plan, Rendered, ms_since

log = logging.getLogger(__name__)


class Outputs:
    """`cache` is None when the output cache is off (OUTPUT_CACHE=0, or a directory library by default)."""

    def __init__(self, backend: Backend, delivery: Delivery, cache: OutputCache | None, pause_s: float):
        self.backend, self.delivery, self.cache, self.pause_s = backend, delivery, cache, pause_s
        self.digests = EmbeddingDigests()

    def key(self, plan: Plan, use_cache: bool) -> str | None:
        """The plan's cache key, or None when the cache is off, refused by the job, or the audio could vary."""
        if self.cache is None or not use_cache or not cacheable(plan, self.backend):
            return None
        return output_key(plan, self.backend, self.pause_s, self.digests)

    def cached(self, key: str | None, output: str | None, job_id: str, name: str,
               delivery: Delivery | None = None) -> tuple[dict, bytes | None] | None:
        """A hit's result (`cached: true`), and its bytes when they were read (with `output` None: only read).
        `delivery`: the job's own, when it differs from the worker's (a job's s3Config)."""
        entry = self.cache.lookup(key) if key is not None else None
        if entry is None:
            return None
        if output is None:
            data = self.cache.read(entry)
            return None if data is None else ({**entry.description, "cached": True}, data)
        data = None

        def read() -> bytes | None:
            nonlocal data
            data = self.cache.read(entry)
            return data

        delivered = (delivery or self.delivery).deliver_stored(entry.size, read, self.cache.store, entry.object_key, name,
                                                 entry.content_type, output, job_id)
        if delivered is None:
            return None
        return {**entry.description, **delivered, "cached": True}, data

    def finish(self, rendered: Rendered, key: str | None, output: str | None, job_id: str, name: str,
               timings: dict | None = None, delivery: Delivery | None = None) -> tuple[dict, bytes]:
        """Encode, put in the cache when keyed (a storage fault is logged, never fails the job), deliver
        (unless `output` is None: the caller packs the bytes itself). Stage times (ms) go into `timings`."""
        timings = {} if timings is None else timings
        started = time.perf_counter()
        plan = rendered.plan
        data = audio.encode(rendered.audio(), plan.sample_rate, plan.format)
        timings["encode"] = ms_since(started)
        result = rendered.describe()
        kind = content_type(plan.format, plan.sample_rate)
        if key is not None:
            started = time.perf_counter()
            try:
                self.cache.put(key, data, FORMATS[plan.format].extension, kind, result)
            except JobError as exc:
                log.warning("output cache write failed; the job goes on without it: %s", exc.message)
            except Exception:
                log.exception("output cache write crashed; the job goes on without it")
            result["cached"] = False
            timings["cache"] = ms_since(started)
        if output is not None:
            started = time.perf_counter()
            result.update((delivery or self.delivery).deliver(data, name, kind, output, job_id))
            timings["deliver"] = ms_since(started)
        return result, data
