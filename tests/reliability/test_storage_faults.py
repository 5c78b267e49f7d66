"""Storage failing mid-create and mid-upload (real SeaweedFS behind a fault-injecting proxy): nothing half-made."""
import json
import time
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from jobcore.worker import Worker
from storage.s3_store import S3Store
from tests.support.faults import FaultyProxy
from tests.support.jobs import error_of


@pytest.fixture
def proxied(kokoro_worker, seaweed):
    proxy = FaultyProxy(urlsplit(seaweed.endpoint_url).port)
    bucket = f"f-{uuid.uuid4().hex[:16]}"
    S3Store.from_uri(f"s3://{bucket}", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                     secret_access_key=seaweed.secret_key).ensure_bucket()
    settings = replace(kokoro_worker.settings, voice_library_uri=f"s3://{bucket}/lib", s3_endpoint_url=proxy.url,
                       s3_access_key_id=seaweed.access_key, s3_secret_access_key=seaweed.secret_key,
                       s3_connect_timeout_s=1.0, s3_read_timeout_s=1.5, s3_max_attempts=2,
                       create_lock_ttl_s=1.0, cache_ttl_s=0.0)
    worker = Worker.from_settings(settings, backend=kokoro_worker.backend)
    yield worker, proxy
    proxy.close()


@pytest.fixture(scope="module")
def clip(kokoro_worker):
    return kokoro_worker.handle({"text": "Clip for the fault tests, long enough.", "format": "wav"})["audio_base64"]


def fail_after(worker, proxy, key_suffix: str, mode: str):
    """Let writes through until one whose key ends with `key_suffix` has been written, then break the network."""
    real_write = worker.library.store.write

    def write(key, *args, **kwargs):
        etag = real_write(key, *args, **kwargs)
        if key.endswith(key_suffix):
            proxy.set(mode)
        return etag

    worker.library.store.write = write
    return lambda: setattr(worker.library.store, "write", real_write)


@pytest.mark.parametrize("mode", ["refuse", "stall"])
def test_storage_lost_mid_create_leaves_no_visible_voice_and_a_retry_is_clean(proxied, clip, mode):
    worker, proxy = proxied
    restore = fail_after(worker, proxy, "reference.flac", mode)
    started = time.monotonic()
    err = error_of(worker.handle({"action": "voices.create", "name": "Faulty", "audio_base64": clip, "fit": False}))
    assert err["code"] == "storage_unavailable" and time.monotonic() - started < 30
    restore()
    proxy.set("pass")
    assert "Faulty" not in {v["name"] for v in worker.handle({"action": "voices.list"})["voices"]}
    assert error_of(worker.handle({"action": "voices.get", "voice": "faulty"}))["code"] == "voice_not_found"
    time.sleep(1.1)                                   # the dead attempt's lock expires
    created = worker.handle({"action": "voices.create", "name": "Faulty", "audio_base64": clip, "fit": False})
    assert created["voice"]["id"] == "faulty"
    assert worker.library.store.list("voices/faulty/") == ["voices/faulty/reference.flac", "voices/faulty/voice.json"]


def test_stalled_upload_fails_in_bounded_time_and_the_worker_recovers(proxied):
    worker, proxy = proxied
    real_write = worker.library.store.write

    def write(key, *args, **kwargs):
        if key.startswith("outputs/"):
            proxy.set("stall")
        return real_write(key, *args, **kwargs)

    worker.library.store.write = write
    started = time.monotonic()
    err = error_of(worker.handle({"text": "Upload me.", "output": "url"}, "job-stall"))
    assert err["code"] == "storage_unavailable" and time.monotonic() - started < 30
    worker.library.store.write = real_write
    proxy.set("pass")
    result = worker.handle({"text": "Upload me again.", "output": "url"}, "job-ok")
    assert "audio_url" in result, result
    assert "voices" not in json.dumps(worker.library.store.list("outputs/"))
