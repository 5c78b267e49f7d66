"""GET /metrics: the job core's counters, the job queue's and the caches', in Prometheus' text format."""
from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from jobcore.interface import JobWorker

from .jobs import JobQueue

# jobcore histogram name -> (Prometheus name, help)
HISTOGRAMS = {
    "job_seconds": ("tts_job_duration_seconds", "Time from a job's start in the worker to its last item, by action."),
    "first_chunk_seconds": ("tts_first_chunk_seconds",
                            "Time from a synthesis job's start to its first audio (the whole answer unless streamed)."),
    "queue_wait_seconds": ("tts_queue_wait_seconds", "Time a job waited in the server's queue before a thread took it."),
}
CACHE_GAUGES = ("entries", "bytes", "max_bytes")   # levels, not counts


def worker_snapshot(worker: JobWorker) -> dict:
    """The worker's metrics snapshot (a jobcore Worker, or the processes standing in for one)."""
    return worker.metrics_snapshot()


class Collector:
    """Builds the metric families on each scrape from plain snapshots (nothing is kept between scrapes)."""

    def __init__(self, worker: JobWorker, queue: JobQueue):
        self.worker, self.queue = worker, queue

    def collect(self) -> Iterator[Metric]:
        snap = worker_snapshot(self.worker)
        server = self.queue.metrics.snapshot()
        backend = self.worker.backend_name
        info = GaugeMetricFamily("tts_worker_info", "The backend this worker runs.", labels=["backend"])
        info.add_metric([backend], 1)
        yield info
        yield from self.jobs(snap)
        yield from self.histograms(snap["histograms"] + server["histograms"])
        yield from self.audio(snap)
        yield from self.caches(snap.get("caches", {}))
        yield from self.queue_state()

    @staticmethod
    def jobs(snap: dict) -> Iterator[Metric]:
        jobs = CounterMetricFamily("tts_jobs", "Jobs the worker ran, by action, status and error code.",
                                   labels=["action", "status", "code"])
        for c in snap["counters"]:
            if c["name"] == "jobs":
                labels = c["labels"]
                jobs.add_metric([labels.get("action", ""), labels.get("status", ""), labels.get("code", "")], c["value"])
        yield jobs

    @staticmethod
    def histograms(histograms: list[dict]) -> Iterator[Metric]:
        families: dict[str, HistogramMetricFamily] = {}
        for name, (prom, text) in HISTOGRAMS.items():
            families[name] = HistogramMetricFamily(prom, text, labels=["action"] if name != "queue_wait_seconds" else [])
        for h in histograms:
            family = families.get(h["name"])
            if family is None:
                continue
            cumulative, buckets = 0.0, []
            for bound, count in zip([*map(str, h["buckets"]), "+Inf"], h["counts"]):
                cumulative += count
                buckets.append((bound, cumulative))
            labels = [h["labels"].get("action", "")] if h["name"] != "queue_wait_seconds" else []
            family.add_metric(labels, buckets, h["sum"])
        yield from families.values()

    @staticmethod
    def audio(snap: dict) -> Iterator[Metric]:
        totals = {c["name"]: c["value"] for c in snap["counters"] if not c["labels"]}
        audio_s, synth_s = totals.get("audio_seconds", 0.0), totals.get("synthesis_seconds", 0.0)
        yield CounterMetricFamily("tts_audio_seconds", "Seconds of audio synthesized.", value=audio_s)
        yield CounterMetricFamily("tts_synthesis_seconds", "Seconds spent synthesizing that audio.", value=synth_s)
        yield GaugeMetricFamily("tts_real_time_factor", "Synthesis seconds per audio second since start "
                                "(below 1: faster than real time; 0 before any audio).",
                                value=synth_s / audio_s if audio_s else 0.0)

    @staticmethod
    def caches(caches: dict) -> Iterator[Metric]:
        for cache, counts in sorted(caches.items()):
            for key, value in sorted(counts.items()):
                if not isinstance(value, (int, float)) or key == "ttl_s":
                    continue
                if key in CACHE_GAUGES:
                    yield GaugeMetricFamily(f"tts_{cache}_cache_{key}", f"The {cache} cache's {key}.", value=value)
                else:
                    yield CounterMetricFamily(f"tts_{cache}_cache_{key}", f"The {cache} cache's {key} since start.",
                                              value=value)

    def queue_state(self) -> Iterator[Metric]:
        health = self.queue.health()
        yield GaugeMetricFamily("tts_queue_depth", "Jobs waiting in the queue.", value=health["jobs"]["inQueue"])
        yield GaugeMetricFamily("tts_jobs_in_progress", "Jobs running now.", value=health["jobs"]["inProgress"])
        yield GaugeMetricFamily("tts_busy_workers", "Worker threads synthesizing now.",
                                value=health["workers"]["running"])
        yield GaugeMetricFamily("tts_workers", "Worker threads (or processes) serving jobs.",
                                value=health["workers"]["ready"])
        ended = CounterMetricFamily("tts_server_jobs", "Jobs of the server's queue that ended, by RunPod status.",
                                    labels=["status"])
        for status, count in sorted(self.queue.counts.items()):
            ended.add_metric([status], count)
        yield ended


def metrics_text(worker, queue: JobQueue) -> tuple[bytes, str]:
    """The exposition body and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(worker, queue))
    return generate_latest(registry), CONTENT_TYPE_LATEST
