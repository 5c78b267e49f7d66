"""The output cache on a real S3 server (SeaweedFS): repeats served from storage, bypass, variance, expiry, faults."""
import base64
import time
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest

from jobcore import audio
from jobcore.worker import Worker
from tests.support.faults import FaultyProxy
from tests.support.seaweed import s3_settings

TEXT = "The cache keeps what was already said, so saying it again costs nothing."


def counting(monkeypatch, backend) -> list:
    """Count the backend's synthesize_many calls (every synthesis goes through it)."""
    calls, real = [], backend.synthesize_many

    def wrapped(texts, *args, **kwargs):
        calls.append(list(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(backend, "synthesize_many", wrapped)
    return calls


@pytest.fixture
def cached_worker(hibari_worker, seaweed):
    settings = s3_settings(hibari_worker.settings, seaweed, f"oc-{uuid.uuid4().hex[:16]}")
    worker = Worker.from_settings(settings, backend=hibari_worker.backend)
    assert worker.settings.output_cache_on           # the default on S3
    return worker


def decoded(result):
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    return len(samples) / rate


def test_a_repeat_job_is_served_from_the_cache_with_identical_bytes_and_no_synthesis(cached_worker, monkeypatch):
    calls = counting(monkeypatch, cached_worker.backend)
    job = {"text": TEXT, "format": "wav", "captions": "srt"}
    first = cached_worker.handle(job, "job-1")
    assert first["cached"] is False and len(calls) == 1
    second = cached_worker.handle(job, "job-2")
    assert second["cached"] is True and len(calls) == 1
    assert second["audio_base64"] == first["audio_base64"]
    assert abs(decoded(second) - second["duration_s"]) < 0.05
    same = {k: v for k, v in first.items() if k not in ("cached", "timings_ms")}
    assert {k: v for k, v in second.items() if k not in ("cached", "timings_ms")} == same
    assert "synth" not in second["timings_ms"]
    # anything that changes the bytes is a different entry
    for changed in ({"speed": 1.2}, {"format": "flac"}, {"text": TEXT + " Again."}, {"captions": "vtt"}):
        assert cached_worker.handle({**job, **changed})["cached"] is False
    assert len(calls) == 5
    counts = cached_worker.handle({"action": "info"})["output_cache"]
    assert counts["enabled"] and counts["hits"] == 1 and counts["writes"] == 5


def test_a_url_hit_presigns_the_cached_object_without_uploading_again(cached_worker):
    job = {"text": TEXT, "format": "opus", "output": "url"}
    first = cached_worker.handle(job, "job-a")
    second = cached_worker.handle(job, "job-b")
    assert second["cached"] is True
    assert cached_worker.library.store.list("outputs/job-b/") == []
    one, two = httpx.get(first["audio_url"], timeout=10), httpx.get(second["audio_url"], timeout=10)
    assert two.status_code == 200 and two.content == one.content
    assert two.headers["content-type"].startswith("audio/ogg")
    samples, rate = audio.decode(two.content)
    assert abs(len(samples) / rate - second["duration_s"]) < 0.05


def test_cache_false_always_synthesizes(cached_worker, monkeypatch):
    calls = counting(monkeypatch, cached_worker.backend)
    cached_worker.handle({"text": TEXT, "format": "mp3"})
    again = cached_worker.handle({"text": TEXT, "format": "mp3", "cache": False})
    assert again.get("cached") is not True and "audio_base64" in again and len(calls) == 2


def test_a_job_that_could_vary_is_never_served_from_the_cache(cached_worker, monkeypatch):
    backend = cached_worker.backend
    monkeypatch.setattr(backend, "capabilities", replace(backend.capabilities, deterministic=False))
    calls = counting(monkeypatch, backend)
    for _ in range(2):
        assert cached_worker.handle({"text": TEXT, "format": "wav"}).get("cached") is not True
    assert len(calls) == 2 and cached_worker.library.store.list("outputs/cache/") == []
    seeded = {"text": TEXT, "format": "wav", "seed": 7}            # a fixed seed makes it repeatable
    assert cached_worker.handle(seeded)["cached"] is False
    assert cached_worker.handle(seeded)["cached"] is True and len(calls) == 3


def test_entries_expire_after_the_ttl(cached_worker, monkeypatch):
    worker = Worker(replace(cached_worker.settings, output_cache_ttl_s=0.5), cached_worker.backend,
                    cached_worker.library)
    calls = counting(monkeypatch, worker.backend)
    job = {"text": TEXT, "format": "wav"}
    worker.handle(job)
    assert worker.handle(job)["cached"] is True
    time.sleep(0.7)
    assert worker.handle(job)["cached"] is False and len(calls) == 2
    assert worker.handle({"action": "info"})["output_cache"]["expired"] == 1


def test_a_storage_fault_on_the_cache_write_still_returns_the_audio(hibari_worker, seaweed):
    proxy = FaultyProxy(urlsplit(seaweed.endpoint_url).port)
    try:
        settings = replace(s3_settings(hibari_worker.settings, seaweed, f"of-{uuid.uuid4().hex[:16]}"),
                           s3_endpoint_url=proxy.url, s3_connect_timeout_s=1.0, s3_read_timeout_s=1.5)
        worker = Worker.from_settings(settings, backend=hibari_worker.backend)
        worker.handle({"text": "Warm the voice.", "format": "wav", "cache": False})   # the voice is now in memory
        proxy.set("refuse")
        result = worker.handle({"text": TEXT, "format": "wav"})
        assert "error" not in result and result["cached"] is False
        assert abs(decoded(result) - result["duration_s"]) < 0.05
        proxy.set("pass")
        counts = worker.handle({"action": "info"})["output_cache"]
        assert counts["write_errors"] == 1 and counts["read_errors"] == 1
    finally:
        proxy.close()


def test_a_batch_uses_the_cache_per_item_and_sends_a_large_zip_as_a_url(cached_worker, monkeypatch):
    import io
    import zipfile

    cached_worker.handle({"text": TEXT, "format": "wav"})
    calls = counting(monkeypatch, cached_worker.backend)
    result = cached_worker.handle({"batch": [{"text": TEXT, "format": "wav"}, {"text": "Something new.", "format": "wav"}],
                                   "zip": True, "output": "url"}, "job-zip")
    assert [r["cached"] for r in result["results"]] == [True, False]
    assert calls == [["Something new."]]                      # only the new item was synthesized
    response = httpx.get(result["zip"]["zip_url"], timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    for name, item in zip(["000.wav", "001.wav"], result["results"]):
        samples, rate = audio.decode(archive.read(name))
        assert abs(len(samples) / rate - item["duration_s"]) < 0.05
