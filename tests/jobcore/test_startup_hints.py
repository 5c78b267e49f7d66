"""Start-up and refusals that explain themselves: a missing bucket names the bucket, the endpoint and the fix
(CREATE_BUCKET=1 makes it); a refused webhook names ALLOW_PRIVATE_WEBHOOKS; the README lists every setting."""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from common.errors import StorageUnavailable
from jobcore.settings import load_settings
from jobcore.worker import BrokenWorker, Worker, start_worker
from storage.s3_store import S3Store
from tests.support.jobs import error_of

ROOT = Path(__file__).resolve().parents[2]


def s3_library(base, server, bucket: str, **changes):
    """Settings on an S3 library in `bucket` at the test server, without making the bucket."""
    return replace(base, voice_library_uri=f"s3://{bucket}/lib", s3_endpoint_url=server.endpoint_url,
                   s3_access_key_id=server.access_key, s3_secret_access_key=server.secret_key, **changes)


def test_a_missing_bucket_names_the_bucket_the_endpoint_and_the_fix(kokoro_worker, seaweed, caplog):
    bucket = f"missing-{uuid.uuid4().hex[:12]}"
    settings = s3_library(kokoro_worker.settings, seaweed, bucket)
    with pytest.raises(StorageUnavailable) as info:
        Worker.from_settings(settings, backend=kokoro_worker.backend)
    text = f"{info.value.message} {info.value.hint}"
    assert f"'{bucket}' does not exist at {seaweed.endpoint_url}" in info.value.message
    assert "CREATE_BUCKET=1" in text and f"s3://{bucket}" in text and "VOICE_LIBRARY_URI" in text
    caplog.set_level(logging.ERROR)
    with pytest.MonkeyPatch.context() as patch:          # the start-up path every entry point takes logs it whole
        patch.setattr("jobcore.worker.load_backend", lambda *a, **k: kokoro_worker.backend)
        broken = start_worker(settings)
    assert isinstance(broken, BrokenWorker) and broken.error.hint and "CREATE_BUCKET=1" in caplog.text


def test_create_bucket_makes_the_bucket_and_seeds_it(kokoro_worker, seaweed):
    bucket = f"made-{uuid.uuid4().hex[:12]}"
    worker = Worker.from_settings(s3_library(kokoro_worker.settings, seaweed, bucket, create_bucket=True),
                                  backend=kokoro_worker.backend)
    assert "jm_kumo" in [v["id"] for v in worker.handle({"action": "voices.list"})["voices"]]
    store = S3Store.from_uri(f"s3://{bucket}", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                             secret_access_key=seaweed.secret_key)
    store.check_bucket()                                  # there now


def test_create_bucket_is_read_from_the_environment():
    assert load_settings({"CREATE_BUCKET": "1"}).create_bucket and not load_settings({}).create_bucket


def test_a_refused_webhook_names_its_setting(keyed_url):
    from tests.support.servers import API_KEY

    response = httpx.post(f"{keyed_url}/run", headers={"Authorization": f"Bearer {API_KEY}"},
                          json={"input": {"text": "hi"}, "webhook": "http://127.0.0.1:9/hook"}, timeout=30)
    assert response.status_code == 400 and "ALLOW_PRIVATE_WEBHOOKS=1" in response.json()["error"]


def test_a_refused_audio_url_names_its_setting(kokoro_worker):
    result = kokoro_worker.handle({"action": "voices.create", "name": "Local", "audio_url": "http://127.0.0.1:9/a.wav"})
    assert "ALLOW_PRIVATE_URLS=1" in error_of(result)["hint"]


def settings_read() -> set[str]:
    """Every environment variable the worker's and the server's settings read."""
    names = set()
    for module in ("jobcore/settings.py", "server/settings.py"):
        source = (ROOT / module).read_text()
        names |= set(re.findall(r'env(?:_\w+)?\(env, "([A-Z][A-Z0-9_]+)"', source))
        names |= set(re.findall(r'env\.get\("([A-Z][A-Z0-9_]+)"', source))
        for group in re.findall(r'env_first\(env, ((?:"[A-Z0-9_]+",? ?)+)\)', source):
            names |= set(re.findall(r'"([A-Z0-9_]+)"', group))
    return names


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    names = settings_read()
    assert {"ALLOW_PRIVATE_WEBHOOKS", "CREATE_BUCKET", "VOICE_LIBRARY_URI"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"settings missing from the README: {missing}"
