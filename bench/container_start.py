"""Cold start of the image: `docker run` to the first finished job, and the worker process's start to its first
request for a job (ready), against the same job warm in the same container; RunPod's production loop through the
queue stand-in (tests/support/runpod_queue.py), and the CPU the worker's start-up took (all threads, from its log: on
a shared host the wall clock also counts other tenants). Needs Docker and built images (TTS_IMAGES, default the two
`make test-image` builds: every language and LANGUAGES=en); rounds alternate between the images."""
from __future__ import annotations

import logging
import os
import re
import statistics
import time
from datetime import datetime

from bench.common import save
from tests.support.containers import HOST_ALIAS, Container, bridge_gateway, docker
from tests.support.runpod_queue import RunPodQueue

log = logging.getLogger(__name__)
ROUNDS = 5
WARM_JOBS = 3
JOB = {"text": "Hello! This is the first job of a fresh worker.", "voice": "jm_kumo"}   # as bench/cold_start.py
_READY = re.compile(r"worker ready: .* in ([0-9.]+)s")
_LOADED = re.compile(r"worker loaded in ([0-9]+) ms")
_CPU = re.compile(r"start-up took ([0-9.]+) s of CPU")
IMAGES = "tts-worker:kokoro-test tts-worker:kokoro-test-en"


def docker_time(stamp: str) -> float:
    """Docker's RFC 3339 nanosecond time as a Unix time."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{frac or 0}")


def one_round(image: str, gateway: str) -> dict:
    with RunPodQueue(host=gateway) as queue:
        first = queue.submit(JOB)                  # waiting before the container exists, as on a scaled-to-zero endpoint
        ran = time.time()
        with Container(image, env=queue.worker_env(HOST_ALIAS)) as container:
            job = queue.wait(first, 300)
            assert job.status == "COMPLETED", job.result
            started = docker_time(container.state()["StartedAt"])
            ready = queue.take_times[0]
            warm = []
            for _ in range(WARM_JOBS):
                again = queue.wait(queue.submit(JOB), 300)
                assert again.status == "COMPLETED", again.result
                warm.append(again.finished_at - again.taken_at)
            logs = container.logs()
    worker_ready = _READY.search(logs)
    loaded = _LOADED.search(logs)
    cpu = _CPU.search(logs)
    return {"docker_run_to_first_job_done": job.finished_at - ran,
            "docker_run_to_process_start": started - ran,
            "process_start_to_ready": ready - started,
            "process_start_to_first_job_done": job.finished_at - started,
            "first_job_take_to_done": job.finished_at - job.taken_at,
            "warm_job_take_to_done": statistics.median(warm),
            "worker_load_logged": float(worker_ready[1]) if worker_ready else float("nan"),
            "worker_load_beside_sdk_import_logged": int(loaded[1]) / 1e3 if loaded else float("nan"),
            "startup_cpu_logged": float(cpu[1]) if cpu else float("nan")}


def summary(rounds: list[dict]) -> dict:
    """Medians (ms) of one image's rounds, and its overhead: cold first job minus the same job warm."""
    median = {k: round(statistics.median(r[k] for r in rounds) * 1e3, 1) for k in rounds[0]}
    median["overhead_from_process_start"] = round(median["process_start_to_first_job_done"]
                                                  - median["warm_job_take_to_done"], 1)
    return median


def run() -> dict:
    images = os.environ.get("TTS_IMAGES", os.environ.get("TTS_IMAGE", IMAGES)).split()
    try:
        sizes = {image: round(int(docker("image", "inspect", "--format", "{{.Size}}", image)) / 1e6)
                 for image in images}
    except (OSError, RuntimeError) as exc:
        log.warning("skipping container_start: no Docker or no image among %s (%s); `make test-image` builds them",
                    images, exc)
        return {}
    gateway = bridge_gateway()
    load_before = os.getloadavg()[0]
    rounds: dict[str, list[dict]] = {image: [] for image in images}
    for _ in range(ROUNDS):
        for image in images:
            rounds[image].append(one_round(image, gateway))
    by_image = {image: summary(done) for image, done in rounds.items()}
    median = by_image[images[0]]
    warm = median["warm_job_take_to_done"]
    medians = {"docker_run_to_first_job_done": median["docker_run_to_first_job_done"],
               "process_start_to_first_job_done": median["process_start_to_first_job_done"],
               "process_start_to_ready": median["process_start_to_ready"],
               "warm_job": warm}
    result = {"benchmark": "container_start", "median_ms": medians,
              "ratio_to_warm_job": {k: round(v / warm, 2) for k, v in medians.items()},
              "overhead_ms": {"process_start": median["overhead_from_process_start"],
                              "docker_run": round(median["docker_run_to_first_job_done"] - warm, 1)},
              "breakdown_median_ms": median, "rounds": ROUNDS, "image": images[0], "image_mb": sizes[images[0]],
              "by_image": {image: {"MB": sizes[image], "ready": m["process_start_to_ready"],
                                   "first job done": m["process_start_to_first_job_done"],
                                   "warm job": m["warm_job_take_to_done"],
                                   "overhead": m["overhead_from_process_start"],
                                   "start-up CPU": m["startup_cpu_logged"]}
                           for image, m in by_image.items()},
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "notes": "The job waits in the queue stand-in before `docker run -d`; the worker (python -u "
                       "handler.py, the image's command, as RunPod starts it) takes it on its first request. "
                       "ready = the first job-take request; process start = the container's StartedAt. "
                       "warm_job = the same job again in the same container (take to result), median of "
                       f"{WARM_JOBS}. overhead = cold first job minus the warm job. worker_load_logged = the "
                       "worker's own 'worker ready ... in' line (model read and checked, onnxruntime session, "
                       "lexicon, stock voices), loaded beside the SDK import; startup_cpu_logged = the CPU time "
                       "of every thread until the worker takes jobs (its log). The main table is the first image's; "
                       "by_image gives every image's medians (ms). Rounds alternate between the images, each in a "
                       "fresh container (model files are in the page cache after the first)."}
    save("container_start", result)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
