"""RunPod entry point: build the worker once from the environment, then hand jobs to it."""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import platform
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING

from common.collector import collections_paused
from common.errors import job_output
from common.logs import setup_logging
from jobcore.startup import load_in_background

if TYPE_CHECKING:     # the job core is imported by the start-up, once the backend's early start is under way
    from jobcore.interface import JobWorker

log = logging.getLogger("handler")
_worker: JobWorker | None = None


def get_worker() -> JobWorker:
    global _worker
    if _worker is None:
        from jobcore.worker import start_worker

        _worker = start_worker()
    return _worker


def on_runpod() -> bool:
    """Pulling jobs from RunPod's queue (the SDK's own test: RUNPOD_WEBHOOK_GET_JOB is set)."""
    return bool(os.environ.get("RUNPOD_WEBHOOK_GET_JOB"))


def worker_fit() -> None:
    """The SDK's fitness check (run only on RunPod, before the first job): a worker that could not start
    raises here, and the SDK exits the process so RunPod replaces it instead of failing every job."""
    from jobcore.worker import BrokenWorker

    worker = get_worker()
    if isinstance(worker, BrokenWorker):
        hint = f" ({worker.error.hint})" if worker.error.hint else ""
        raise RuntimeError(f"{worker.error.code}: {worker.error.message}{hint}")


def cpu_brand() -> str:
    """The processor's name as the kernel reports it (what py-cpuinfo's `brand_raw` holds on Linux)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    return platform.processor() or platform.machine() or "unknown"


#: imported by `import runpod` for its command line only (`runpod ssh`), never by the serverless worker: about 0.1 s
#: of start-up CPU (paramiko, invoke and the cryptography parts they load); loaded on first use instead
SDK_CLI_ONLY = ("paramiko",)


class DeferredModule(ModuleType):
    """A stand-in in sys.modules that imports the real module on its first attribute use (importlib's LazyLoader
    does not do for this: on 3.11 the next `import` statement of the module loads it)."""

    def __getattr__(self, attr: str):
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, attr)


def defer_import(name: str) -> None:
    """`import name` binds a DeferredModule until something uses it; nothing if it is imported already or not
    installed."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = DeferredModule(name)


def import_runpod() -> ModuleType:
    """`import runpod`, without its slow steps: the SDK's debugger module calls py-cpuinfo's get_cpu_info() at
    import time for a processor name (shown only with --rp_debugger), and that runs a Python subprocess that itself
    sleeps 1 s in a CPUID probe process (about 1.2 s of the SDK's 1.7 s import); py-cpuinfo's own import runs `file`
    and `uname -p`. For that import only, `cpuinfo` is a stand-in whose get_cpu_info answers with the kernel's name for
    the processor (or, if py-cpuinfo is imported already, its get_cpu_info is, and is restored afterwards). The CLI's
    SSH library (SDK_CLI_ONLY) loads on first use."""
    for name in SDK_CLI_ONLY:
        defer_import(name)
    answer = lambda: {"brand_raw": cpu_brand()}  # noqa: E731
    real = sys.modules.get("cpuinfo")
    if real is None:
        sys.modules["cpuinfo"] = stand_in = ModuleType("cpuinfo")
        stand_in.get_cpu_info = answer    # type: ignore[attr-defined]
    else:
        real_get, real.get_cpu_info = real.get_cpu_info, answer
    try:
        import runpod
    finally:
        if real is None:
            del sys.modules["cpuinfo"]     # a later `import cpuinfo` gets py-cpuinfo itself
        else:
            real.get_cpu_info = real_get
    return runpod


def default_sdk_log_level(env=os.environ) -> None:
    """The SDK logs at DEBUG unless told otherwise, every job's output included (base64 audio, presigned URLs):
    INFO unless the operator set RUNPOD_LOG_LEVEL or RUNPOD_DEBUG_LEVEL. Read once, when the SDK is imported."""
    if not (env.get("RUNPOD_LOG_LEVEL") or env.get("RUNPOD_DEBUG_LEVEL")):
        env["RUNPOD_LOG_LEVEL"] = "INFO"


def start():
    """Load the worker on a thread while this one imports the RunPod SDK (without its CPU-info subprocess),
    then wait for both (the cycle collector paused meanwhile); returns the SDK module."""
    global _worker
    with collections_paused():
        loading = load_in_background()
        runpod = import_runpod()
        _worker = loading.result()
    return runpod


def _progress(job: dict):
    """RunPod progress updates, only where RunPod's queue is there to receive them."""
    if not on_runpod():
        return None
    from runpod.serverless import progress_update

    return lambda update: progress_update(job, update)


def handler(job: dict) -> dict:
    """One result per job (STREAMING=0, and what `python handler.py` with test_input.json runs)."""
    return job_output(get_worker().handle(job.get("input"), job.get("id"), _progress(job),
                                          s3_config=job.get("s3Config")))


def stream_handler(job: dict):
    """A generator: `stream: true` jobs yield a chunk per sentence; other jobs yield their one result."""
    for item in get_worker().stream(job.get("input"), job.get("id"), _progress(job), s3_config=job.get("s3Config")):
        yield job_output(item)


def serving_handler(argv: list[str], streaming: bool):
    """STREAMING (`streaming`, the worker's setting; default on) registers the generator; the SDK's local test
    run cannot run one, so it gets the plain handler."""
    serving = "--rp_serve_api" in argv or on_runpod()
    return stream_handler if serving and streaming else handler


if __name__ == "__main__":
    setup_logging()
    default_sdk_log_level()
    runpod = start()   # load and warm the model before the first job arrives
    # CPU time, not wall time: on a shared host the wall clock also counts other tenants (bench/container_start)
    log.info("start-up took %.2f s of CPU (all threads) before taking jobs", time.process_time())

    runpod.serverless.register_fitness_check(worker_fit)
    runpod.serverless.start({"handler": serving_handler(sys.argv, get_worker().streaming),
                             "return_aggregate_stream": True})
