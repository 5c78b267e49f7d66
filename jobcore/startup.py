"""The worker's start-up beside another slow import: what the backend can start before anything heavy is imported
(backends.start_early: Kokoro's session), then everything the loading imports, on the caller's thread, then the
loading (weights, session, lexicon, warm-up) on a thread of its own. Imports the job core only once that started."""
from __future__ import annotations

import importlib
import logging
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from backends import backend_class, start_early
from common.errors import JobError

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .interface import JobWorker

log = logging.getLogger(__name__)

# imported lazily by the loading itself (the library's store, package data readers); imported up front with the
# backend's own `imports`, so that the loading thread imports nothing while the caller imports (concurrent imports
# of modules that import each other can see a module half-initialized)
LOADING_IMPORTS = ("storage.local_store", "importlib.readers", "importlib.resources.readers", "encodings.cp437")


def overlappable(settings: Settings) -> bool:
    """An S3 library's client (botocore) imports modules lazily while it connects: that loading runs alone."""
    return not settings.voice_library_uri.startswith("s3://")


def preimport(settings: Settings) -> None:
    """The loading's imports (torch and the engine for the GPU backends), on this thread, while the backend's
    weights are read and hashed on another (Backend.check_ahead)."""
    start_early(settings.backend, settings.model_dir, settings.threads, settings.device)
    backend = backend_class(settings.backend)
    backend.check_ahead(settings.model_dir)
    for name in (*LOADING_IMPORTS, *backend.imports):
        try:
            importlib.import_module(name)
        except Exception as exc:   # an optional part missing (boto3, a backend's extra), a broken CUDA library:
            log.debug("start-up: %s not importable (%s)", name, exc)   # the loading reports it


def load_in_background(settings: Settings | None = None) -> Future[JobWorker]:
    """Start loading the worker; the future's result is a Worker, or a BrokenWorker holding why it failed.
    Where the loading would import modules itself, it runs here and now (the future is done on return)."""
    done: Future[JobWorker] = Future()
    try:
        settings = settings or load_settings()
        preimport(settings)
    except JobError:
        settings = None      # start_worker reports the bad setting or backend as a BrokenWorker
    from .worker import start_worker  # the job core: imported here, after the early start, on the caller's thread
    if settings is None or not overlappable(settings):
        done.set_result(start_worker(settings))
        return done

    def load():
        started = time.perf_counter()
        done.set_result(start_worker(settings))
        log.info("worker loaded in %.0f ms (beside the caller's imports)", (time.perf_counter() - started) * 1e3)

    threading.Thread(target=load, name="worker-load", daemon=True).start()
    return done

