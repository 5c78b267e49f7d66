"""The job core's own counters: jobs by action, status and code, latencies, audio seconds; shown by `info` (a queue
worker on RunPod has nothing to scrape), and summed across processes."""
from __future__ import annotations

from jobcore.metrics import LATENCY_BUCKETS, Metrics, merge


def counter(snapshot: dict, name: str, **labels) -> float:
    return sum(c["value"] for c in snapshot["counters"] if c["name"] == name and c["labels"] == labels)


def histogram_count(snapshot: dict, name: str, **labels) -> int:
    return sum(h["count"] for h in snapshot["histograms"] if h["name"] == name and h["labels"] == labels)


def test_info_shows_jobs_latencies_audio_seconds_and_caches(kokoro_worker):
    before = kokoro_worker.handle({"action": "info"})["metrics"]
    result = kokoro_worker.handle({"text": "Two sentences here. And another one.", "format": "wav"})
    assert "error" in kokoro_worker.handle({"text": "Hi.", "voice": "no-such-voice"})
    assert "error" in kokoro_worker.handle({"action": "voices.frobnicate"})
    items = list(kokoro_worker.stream({"text": "Streamed. In two.", "stream": True, "format": "pcm"}))
    after = kokoro_worker.handle({"action": "info"})["metrics"]

    def grew(name: str, **labels) -> float:
        return counter(after, name, **labels) - counter(before, name, **labels)

    assert grew("jobs", action="synthesize", status="completed", code="") == 2
    assert grew("jobs", action="synthesize", status="failed", code="voice_not_found") == 1
    assert grew("jobs", action="invalid", status="failed", code="invalid_input") == 1
    assert grew("jobs", action="info", status="completed", code="") == 1          # the first info call
    assert histogram_count(after, "first_chunk_seconds", action="synthesize") \
        - histogram_count(before, "first_chunk_seconds", action="synthesize") == 2
    made = result["duration_s"] + sum(i["duration_s"] for i in items[:-1])
    assert abs(grew("audio_seconds") - made) < 0.05                               # what the jobs returned
    assert 0 < grew("synthesis_seconds") < 60
    assert after["caches"]["voice"]["hits"] > before["caches"]["voice"]["hits"]


def test_histograms_bucket_by_upper_bound_and_merge_sums():
    one, two = Metrics(), Metrics()
    one.observe("job_seconds", 0.05, action="synthesize")     # on a bound: counted in that bucket (le)
    one.observe("job_seconds", 1000.0, action="synthesize")   # past every bound
    two.observe("job_seconds", 0.2, action="synthesize")
    one.inc("jobs", action="synthesize", status="completed", code="")
    two.inc("jobs", action="synthesize", status="completed", code="", amount=2)
    merged = merge([one.snapshot(), two.snapshot()])
    [h] = merged["histograms"]
    assert h["counts"][0] == 1 and h["counts"][LATENCY_BUCKETS.index(0.25)] == 1 and h["counts"][-1] == 1
    assert h["count"] == 3 and abs(h["sum"] - 1000.25) < 1e-9
    assert merged["counters"] == [{"name": "jobs", "labels": {"action": "synthesize", "code": "", "status": "completed"},
                                   "value": 3.0}]
