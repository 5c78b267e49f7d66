"""The worker: built once from settings; each job input goes through one dispatch table and one error guard."""
from __future__ import annotations

import logging
import time
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from backends import Backend, load_backend
from common.collector import collections_paused
from common.errors import BackendUnavailable, InternalError, InvalidInput, JobError
from storage import open_store
from voice_library import ByteLRU, VoiceLibrary

from . import info
from .batch import Batch
from .context import Cancellation, JobContext, Progress
from .delivery import Delivery, InlineSink
from .delivery.bucket import job_sink, url_sink
from .interface import JobWorker
from .metrics import Metrics
from .openai_compat import unwrap_openai
from .output_cache import StoreOutputCache
from .outputs import Outputs
from .schema import (
    BatchRequest,
    InfoRequest,
    SynthesizeRequest,
    VoicesCreateRequest,
    VoicesDeleteRequest,
    VoicesGetRequest,
    VoicesListRequest,
    validate_request,
)
from .settings import Settings, load_settings
from .synthesis import Speech, Synthesis, ms_since
from .voices import Voices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Action:
    """One entry of the dispatch table: the request model and what runs it (yielding one or more items)."""

    model: type[BaseModel]
    run: Callable[[Any, JobContext], Iterator[dict]]

    @property
    def name(self) -> str:
        return typing.get_args(self.model.model_fields["action"].annotation)[0]

    @staticmethod
    def of(request: BaseModel) -> str:
        """The action a validated request is for."""
        return typing.get_args(type(request).model_fields["action"].annotation)[0]


def one(fn: Callable[[Any, JobContext], dict]) -> Callable[[Any, JobContext], Iterator[dict]]:
    """An action with a single result."""
    def run(request: Any, job: JobContext) -> Iterator[dict]:
        yield fn(request, job)
    return run


class Worker:
    def __init__(self, settings: Settings, backend: Backend, library: VoiceLibrary):
        self.settings = settings
        self.backend = backend
        self.library = library
        self.metrics = Metrics()
        self.voices = Voices(settings, backend, library)
        self.synthesis = Synthesis(settings, backend, self.voices, self.metrics)
        self.delivery = Delivery(InlineSink(), url_sink(settings, library.store), settings.output_auto_url_bytes)
        cache = StoreOutputCache(library.store, settings.output_cache_ttl_s) if settings.output_cache_on else None
        self.outputs = Outputs(backend, cache, settings.sentence_pause_s)
        self.output_cache = cache
        self.batch = Batch(settings, self.synthesis, self.outputs)
        self.actions: dict[str, Action] = {a.name: a for a in (
            Action(SynthesizeRequest, self.synthesize),
            Action(BatchRequest, one(self.batch.run)),
            Action(VoicesListRequest, one(lambda req, job: self.voices.list())),
            Action(VoicesGetRequest, one(lambda req, job: self.voices.get(req.voice))),
            Action(VoicesCreateRequest, one(self.voices.create)),
            Action(VoicesDeleteRequest, one(lambda req, job: self.voices.delete(req.voice))),
            Action(InfoRequest, one(lambda req, job: {**info.describe(self.settings, self.backend, self.library,
                                                                     cache), "metrics": self.metrics_snapshot()})),
        )}

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend | None = None) -> Worker:
        """Load the backend (unless given), open the library, seed the backend's stock voices, warm up."""
        started = time.perf_counter()
        backend = backend or load_backend(settings.backend, settings.model_dir, settings.threads, settings.device)
        store = open_store(settings.voice_library_uri, check_bucket=True, create_bucket=settings.create_bucket,
                           endpoint_url=settings.s3_endpoint_url,
                           access_key_id=settings.s3_access_key_id,
                           secret_access_key=settings.s3_secret_access_key, region=settings.s3_region,
                           connect_timeout=settings.s3_connect_timeout_s, read_timeout=settings.s3_read_timeout_s,
                           max_attempts=settings.s3_max_attempts)
        library = VoiceLibrary(store, ByteLRU(settings.cache_bytes), settings.cache_ttl_s, settings.create_lock_ttl_s)
        worker = cls(settings, backend, library)
        worker.seed_stock_voices()
        if settings.warmup:
            backend.warmup()
        log.info("worker ready: backend=%s revision=%s library=%s in %.2fs", backend.name, backend.revision,
                 store.uri, time.perf_counter() - started)
        return worker

    def seed_stock_voices(self) -> None:
        self.voices.seed_stock()

    # -- entry points ---------------------------------------------------------------------------
    def handle(self, job_input, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> dict:
        """Run one job input to its one result. Never raises: a failure comes back as {"error": JobError}."""
        return list(self._guarded(job_input, job_id, progress, False, s3_config, cancellation))[0]

    def stream(self, job_input, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> Iterator[dict]:
        """Like handle(), but a `stream: true` synthesis yields one item per sentence, then a summary."""
        yield from self._guarded(job_input, job_id, progress, True, s3_config, cancellation)

    def speech(self, job_input, cancellation: Cancellation | None = None) -> Speech:
        """A synthesize job as raw output bytes (the OpenAI speech route): planned now (JobError raised here),
        rendered as the chunks are read. No base64, no delivery sink, no size cap."""
        started = time.perf_counter()
        try:
            request = validate_request(job_input, {"synthesize": SynthesizeRequest})
            job = self.context("speech", cancellation=cancellation)
            plan = self.synthesis.plan(request)
        except JobError as exc:
            self._record("speech", "synthesize", started, None, exc.code, message=exc.message)
            raise
        return Speech(plan.format, plan.sample_rate, self._measured_bytes(self.synthesis.encoded(plan, job), started))

    def context(self, job_id: str | None, progress: Progress | None = None, stream: bool = False,
                s3_config: dict | None = None, cancellation: Cancellation | None = None) -> JobContext:
        """The job's context, built once: URL outputs go to the job's own bucket when it names one (s3Config)."""
        delivery = self.delivery if s3_config is None else self.delivery.to(job_sink(s3_config, self.settings))
        return JobContext(job_id or "local", delivery, progress, stream, cancellation or Cancellation())

    def metrics_snapshot(self) -> dict:
        """The job counters and histograms, with the voice cache's and output cache's counts (`info.metrics`)."""
        caches = {"voice": self.library.cache.stats()}
        if self.output_cache is not None:
            caches["output"] = self.output_cache.stats()
        return {**self.metrics.snapshot(), "caches": caches}

    def _run(self, job_input, job_id: str | None, progress: Progress | None, stream: bool, s3_config: dict | None,
             cancellation: Cancellation | None, seen: dict) -> Iterator[dict]:
        request = validate_request(unwrap_openai(job_input), {name: a.model for name, a in self.actions.items()})
        seen["action"] = Action.of(request)
        job = self.context(job_id, progress, stream, s3_config, cancellation)
        yield from self.actions[Action.of(request)].run(request, job)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def streaming(self) -> bool:
        return self.settings.streaming

    def close(self) -> None:
        """Nothing to let go of: the model lives as long as the process."""

    def _guarded(self, job_input, job_id: str | None, progress: Progress | None, stream: bool,
                 s3_config: dict | None, cancellation: Cancellation | None) -> Iterator[dict]:
        """The one error guard: a failure becomes an {"error": JobError} item and ends the items. Each job is counted
        and logged once, by action, outcome and error code (never its text)."""
        started, seen, first, code, timings = time.perf_counter(), {"action": "invalid"}, None, None, None
        message, name = None, job_id or "local"
        try:
            for item in self._run(job_input, job_id, progress, stream, s3_config, cancellation, seen):
                if first is None and ("audio_base64" in item or "audio_url" in item):
                    first = time.perf_counter() - started
                timings = item.get("timings_ms", timings)
                yield item
        except GeneratorExit:            # the caller stopped reading (a cancel between chunks)
            code = "cancelled"
            raise
        except JobError as exc:
            code, message = exc.code, exc.message
            yield {"error": exc}
        except Exception:
            code = "internal_error"
            log.exception("job %s crashed", name, extra={"job_id": name, "action": seen["action"], "error_code": code})
            yield {"error": InternalError("the worker hit an unexpected error; it is logged",
                                          hint="retry; report it if it persists")}
        finally:
            self._record(name, seen["action"], started, first, code, timings, message)

    def _measured_bytes(self, chunks: Iterator[bytes], started: float) -> Iterator[bytes]:
        """The speech route's bytes, counted as a synthesize job when the iterator ends or is closed."""
        first, code = None, None
        try:
            for data in chunks:
                if first is None:
                    first = time.perf_counter() - started
                yield data
        except GeneratorExit:
            code = "cancelled"
            raise
        except JobError as exc:
            code = exc.code
            raise
        except Exception:
            code = "internal_error"
            raise
        finally:
            self._record("speech", "synthesize", started, first, code)

    def _record(self, job_id: str, action: str, started: float, first_s: float | None, code: str | None,
                timings: dict | None = None, message: str | None = None) -> None:
        """Count the job and log its one line: job id, action, backend, status, error code and timings."""
        total_s = time.perf_counter() - started
        status = "completed" if code is None else "cancelled" if code == "cancelled" else "failed"
        self.metrics.inc("jobs", action=action, status=status, code="" if code in (None, "cancelled") else code)
        self.metrics.observe("job_seconds", total_s, action=action)
        if first_s is not None:
            self.metrics.observe("first_chunk_seconds", first_s, action=action)
        log.info("job %s %s %s in %.0f ms%s", job_id, action, status, total_s * 1e3,
                 f": {code} {message}" if message else "",
                 extra={"job_id": job_id, "action": action, "backend": self.backend.name, "status": status,
                        "error_code": code if status == "failed" else None,
                        "timings_ms": timings or {"total": round(total_s * 1e3, 1)}})

    # -- synthesize -----------------------------------------------------------------------------
    def synthesize(self, req: SynthesizeRequest, job: JobContext) -> Iterator[dict]:
        t0 = time.perf_counter()
        if req.stream and not job.stream and not self.settings.streaming:   # the plain handler was registered
            raise InvalidInput('"stream": true needs the streaming handler, and this worker runs with STREAMING=0',
                               hint="drop stream, or deploy with STREAMING=1 (the default)")
        plan = self.synthesis.plan(req)
        if req.stream and job.stream:
            yield from self.synthesis.stream(plan, job)
            return
        planned = self.outputs.planned(plan, req.output, req.cache)
        voice_ms = ms_since(t0) - (planned.lookup_ms or 0.0)
        served = self.outputs.serve(planned, job, lambda: self.synthesis.render(plan, job))
        lookup = {} if planned.lookup_ms is None else {"cache_lookup": planned.lookup_ms}
        served.result["timings_ms"] = {"voice": round(voice_ms, 1), **lookup, **served.timings, "total": ms_since(t0)}
        yield served.result


class BrokenWorker:
    """Stands in when start-up failed: every job gets the start-up error instead of a crash loop."""

    def __init__(self, error: JobError, settings: Settings | None = None):
        self.error, self.settings = error, settings

    @property
    def backend_name(self) -> str:
        return self.settings.backend if self.settings is not None else "unavailable"

    @property
    def streaming(self) -> bool:
        return self.settings.streaming if self.settings is not None else True

    def handle(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None) -> dict:
        return {"error": self.error}

    def stream(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None) -> Iterator[dict]:
        yield self.handle(job_input, job_id)

    def speech(self, job_input, cancellation=None) -> Speech:
        raise self.error

    def metrics_snapshot(self) -> dict:
        return {"counters": [], "histograms": [], "caches": {}}

    def close(self) -> None:
        pass


def start_worker(settings: Settings | None = None,
                 build: Callable[[Settings], JobWorker] = Worker.from_settings) -> JobWorker:
    """The one start-up path of every entry point: the worker `build` makes from the settings (read from the
    environment unless given), or a BrokenWorker holding the reason it could not start."""
    try:
        settings = settings or load_settings()
    except JobError as exc:
        log.error("worker start-up failed: %s%s", exc.message, f" ({exc.hint})" if exc.hint else "")
        return BrokenWorker(exc)
    try:
        with collections_paused():
            return build(settings)
    except JobError as exc:
        log.error("worker start-up failed: %s%s", exc.message, f" ({exc.hint})" if exc.hint else "")
        return BrokenWorker(exc, settings)
    except Exception as exc:  # a model that cannot load must not crash-loop the container
        log.exception("worker start-up failed")
        return BrokenWorker(BackendUnavailable(f"the worker could not start: {type(exc).__name__}",
                                               hint="see the worker log"), settings)
