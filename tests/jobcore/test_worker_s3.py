"""The worker on a real S3 server (SeaweedFS): shared voices, URL outputs, credentials and outages."""
import json
import threading
import time
import uuid
from dataclasses import replace

import httpx
import pytest

from jobcore import audio
from jobcore.worker import Worker
from tests.support.jobs import error_of
from tests.support.seaweed import s3_settings, seaweed_server
from tests.support.speech import decode_result, transcribe, wer


@pytest.fixture
def s3_worker(kokoro_worker, seaweed):
    settings = s3_settings(kokoro_worker.settings, seaweed, f"w-{uuid.uuid4().hex[:16]}")
    return Worker.from_settings(settings, backend=kokoro_worker.backend)


@pytest.fixture(scope="module")
def clip(kokoro_worker) -> str:
    return kokoro_worker.handle({"text": "A short clip to keep as a reference voice.", "voice": "jf_tebukuro",
                                 "format": "flac"})["audio_base64"]


def keys_of(worker, voice_id):
    return worker.library.store.list(f"voices/{voice_id}/")


def test_create_list_synthesize_delete(s3_worker, clip):
    created = s3_worker.handle({"action": "voices.create", "name": "Warm Mix", "blend": {"jf_alpha": 2, "jm_kumo": 1}})
    assert created["voice"]["usable"]
    stored = s3_worker.handle({"action": "voices.create", "name": "Clip Voice", "audio_base64": clip, "fit": False})
    assert stored["voice"]["reference_duration_s"] > 1.5
    names = {v["name"] for v in s3_worker.handle({"action": "voices.list"})["voices"]}
    assert {"Warm Mix", "Clip Voice", "jm_kumo"} <= names
    text = "The shared library lives in object storage."
    result = s3_worker.handle({"text": text, "voice": "warm mix", "format": "wav"})
    assert wer(text, transcribe(*decode_result(result))) <= 0.15
    for voice_id in ("warm-mix", "clip-voice"):
        assert s3_worker.handle({"action": "voices.delete", "voice": voice_id}) == {"deleted": voice_id}
        assert keys_of(s3_worker, voice_id) == []
    assert error_of(s3_worker.handle({"text": text, "voice": "warm mix"}))["code"] == "voice_not_found"


def test_url_output_is_a_presigned_link_to_decodable_audio(s3_worker):
    result = s3_worker.handle({"text": "Fetch me from a link.", "format": "opus", "output": "url"}, "job-123")
    assert "audio_base64" not in result and result["expires_at"] > time.time() + 3000
    response = httpx.get(result["audio_url"], timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("audio/ogg")
    assert 'filename="speech.ogg"' in response.headers["content-disposition"]
    samples, rate = audio.decode(response.content)
    assert rate == 24_000 and abs(len(samples) / rate - result["duration_s"]) < 0.05
    assert s3_worker.library.store.list("outputs/job-123/") == ["outputs/job-123/speech.ogg"]


def test_auto_output_switches_to_url_above_the_threshold(s3_worker):
    small = Worker(replace(s3_worker.settings, output_auto_url_bytes=1000), s3_worker.backend, s3_worker.library)
    assert "audio_url" in small.handle({"text": "Large enough.", "format": "wav"}, "job-auto")
    assert "audio_base64" in s3_worker.handle({"text": "Small enough.", "format": "mp3"}, "job-small")


def test_wrong_credentials_give_storage_unavailable_without_secrets(kokoro_worker, seaweed, monkeypatch):
    import handler

    wrong_secret = "sentinel-secret-" + uuid.uuid4().hex
    settings = s3_settings(kokoro_worker.settings, seaweed, f"c-{uuid.uuid4().hex[:16]}")
    monkeypatch.setattr(handler, "_worker", None)
    monkeypatch.setattr("jobcore.worker.load_settings", lambda: replace(settings, s3_secret_access_key=wrong_secret))
    monkeypatch.setattr("jobcore.worker.load_backend", lambda *a, **k: kokoro_worker.backend)
    result = handler.handler({"id": "j1", "input": {"text": "hello"}})
    err = error_of(result)
    assert err["code"] == "storage_unavailable"
    assert wrong_secret not in result["error"] and seaweed.access_key not in result["error"]
    assert error_of(handler.handler({"id": "j2", "input": {"action": "info"}}))["code"] == "storage_unavailable"


def test_outage_fails_fast_and_cached_voices_still_speak(kokoro_worker, tmp_path):
    with seaweed_server(tmp_path / "weed", "outage-key", "outage-secret-123456") as server:
        settings = s3_settings(kokoro_worker.settings, server, "outage", cache_ttl_s=0.0)
        worker = Worker.from_settings(settings, backend=kokoro_worker.backend)
        assert "audio_base64" in worker.handle({"text": "Warm the cache.", "voice": "jm_kumo"})
        server.stop()
        started = time.monotonic()
        cached = worker.handle({"text": "Storage is down but I am cached.", "voice": "jm_kumo", "format": "wav"})
        assert "audio_base64" in cached
        err = error_of(worker.handle({"text": "Not cached.", "voice": "jf_nezumi"}))
        assert err["code"] == "storage_unavailable" and "outage-secret" not in json.dumps(err)
        assert time.monotonic() - started < 30
        server.start()
        assert "audio_base64" in worker.handle({"text": "Back again.", "voice": "jf_nezumi"})


def test_two_workers_racing_to_create_one_name_leave_one_voice(kokoro_worker, seaweed, clip):
    settings = s3_settings(kokoro_worker.settings, seaweed, f"r-{uuid.uuid4().hex[:16]}")
    workers = [Worker.from_settings(settings, backend=kokoro_worker.backend) for _ in range(2)]
    barrier, results = threading.Barrier(2), [None, None]

    def create(i):
        barrier.wait()
        results[i] = workers[i].handle({"action": "voices.create", "name": "Same Name", "audio_base64": clip,
                                          "fit": False})

    threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = sorted("voice" if "voice" in r else error_of(r)["code"] for r in results)
    assert outcomes == ["voice", "voice_exists"]
    assert keys_of(workers[0], "same-name") == ["voices/same-name/reference.flac", "voices/same-name/voice.json"]


def test_a_change_by_another_worker_is_seen_after_the_ttl(kokoro_worker, seaweed):
    settings = s3_settings(kokoro_worker.settings, seaweed, f"t-{uuid.uuid4().hex[:16]}", cache_ttl_s=0.2)
    a, b = (Worker.from_settings(settings, backend=kokoro_worker.backend) for _ in range(2))
    b.handle({"action": "voices.create", "name": "Shared", "blend": {"jf_alpha": 1, "jf_nezumi": 1}})
    assert "audio_base64" in a.handle({"text": "I know this voice.", "voice": "shared"})
    hits = a.library.cache.stats()["hits"]
    assert "audio_base64" in a.handle({"text": "Still cached.", "voice": "shared"})
    assert a.library.cache.stats()["hits"] > hits
    b.handle({"action": "voices.delete", "voice": "shared"})
    time.sleep(0.3)
    assert error_of(a.handle({"text": "Gone now?", "voice": "shared"}))["code"] == "voice_not_found"
