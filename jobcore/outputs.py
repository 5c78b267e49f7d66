"""Serving a planned synthesis: a repeat from the output cache, or render, encode, cache (best effort) and deliver."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from backends import Backend
from common.errors import JobError
from common.formats import FORMATS, content_type

from . import audio
from .context import JobContext
from .delivery import StoredFile
from .output_cache import CachedOutput, EmbeddingDigests, OutputCache, cacheable, output_key
from .synthesis import Plan, Rendered, ms_since

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """A planned synthesis and where its file goes, with what the output cache holds for it."""

    plan: Plan
    name: str                      # the file's name in the job's outputs, e.g. speech.mp3
    output: str | None             # the job's `output`; None: not delivered, the caller packs the bytes (a ZIP)
    key: str | None = None         # its cache key; None when it is not cached
    hit: CachedOutput | None = None   # the live cache entry found when it was planned
    lookup_ms: float | None = None     # how long the cache lookup took (None: no lookup)


@dataclass
class Output:
    """A served synthesis: the result fields, its bytes when they were made or read, stage times (ms)."""

    result: dict
    data: bytes | None
    timings: dict[str, float] = field(default_factory=dict)


class Outputs:
    """`cache` is None when the output cache is off (OUTPUT_CACHE=0, or a directory library by default)."""

    def __init__(self, backend: Backend, cache: OutputCache | None, pause_s: float):
        self.backend, self.cache, self.pause_s = backend, cache, pause_s
        self.digests = EmbeddingDigests()

    def planned(self, plan: Plan, output: str | None, use_cache: bool, name: str | None = None) -> Planned:
        """The plan with its cache key (unless the cache is off, refused by the job, or the audio could vary)
        and the live cache entry for it."""
        name = name or f"speech.{FORMATS[plan.format].extension}"
        if self.cache is None or not use_cache or not cacheable(plan, self.backend):
            return Planned(plan, name, output)
        started = time.perf_counter()
        key = output_key(plan, self.backend, self.pause_s, self.digests)
        return Planned(plan, name, output, key, self.cache.lookup(key), ms_since(started))

    def serve(self, planned: Planned, job: JobContext, render: Callable[[], Rendered]) -> Output:
        """The planned synthesis as a result: its cache hit delivered (`cached: true`), or else `render()`
        encoded, put in the cache when keyed (a storage fault is logged, never fails the job) and delivered
        through the job's delivery (unless `planned.output` is None)."""
        if planned.hit is not None:
            served = self._from_cache(planned, planned.hit, job)
            if served is not None:
                return served
        started = time.perf_counter()
        rendered = render()
        output = self._finish(planned, rendered, job)
        output.timings = {"synth": ms_since(started), **output.timings}
        return output

    def _from_cache(self, planned: Planned, entry: CachedOutput, job: JobContext) -> Output | None:
        """A hit's result and its bytes when they were read; None when the entry is gone since it was found."""
        assert self.cache is not None
        cache = self.cache
        if planned.output is None:
            data = cache.read(entry)
            return None if data is None else Output({**entry.description, "cached": True}, data)
        read: list[bytes | None] = []

        def read_once() -> bytes | None:
            read.append(cache.read(entry))
            return read[-1]

        stored = StoredFile(cache.store, entry.object_key, entry.size, planned.name, entry.content_type, read_once)
        delivered = job.delivery.deliver_stored(stored, planned.output, job.id)
        if delivered is None:
            return None
        return Output({**entry.description, **delivered, "cached": True}, read[-1] if read else None)

    def _finish(self, planned: Planned, rendered: Rendered, job: JobContext) -> Output:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        plan = rendered.plan
        data = audio.encode(rendered.audio(), plan.sample_rate, plan.format)
        timings["encode"] = ms_since(started)
        result = rendered.describe()
        kind = content_type(plan.format, plan.sample_rate)
        if planned.key is not None and self.cache is not None:
            started = time.perf_counter()
            try:
                self.cache.put(planned.key, data, FORMATS[plan.format].extension, kind, result)
            except JobError as exc:
                log.warning("output cache write failed; the job goes on without it: %s", exc.message)
            except Exception:
                log.exception("output cache write crashed; the job goes on without it")
            result["cached"] = False
            timings["cache"] = ms_since(started)
        if planned.output is not None:
            started = time.perf_counter()
            result.update(job.delivery.deliver(data, planned.name, kind, planned.output, job.id))
            timings["deliver"] = ms_since(started)
        return Output(result, data, timings)
