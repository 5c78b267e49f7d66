"""URL outputs into buckets of their own, on a real S3 server (SeaweedFS): RunPod's BUCKET_* convention,
OUTPUT_BUCKET, and a job's s3Config through the local server."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
import soundfile as sf

from jobcore.settings import load_settings
from jobcore.worker import Worker
from server import ServerSettings, create_app
from storage.s3_store import S3Store
from tests.support.jobs import error_of
from tests.support.servers import serve


def make_bucket(server, name: str) -> None:
    S3Store.from_uri(f"s3://{name}", endpoint_url=server.endpoint_url, access_key_id=server.access_key,
                     secret_access_key=server.secret_key).ensure_bucket()


def fetch_audio(url: str) -> float:
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    data, rate = sf.read(io.BytesIO(response.content))
    return len(data) / rate


def worker_with(kokoro_worker, **changes) -> Worker:
    """The session worker's backend and directory library, with other settings."""
    return Worker(replace(kokoro_worker.settings, **changes), kokoro_worker.backend, kokoro_worker.library)


def test_bucket_settings_alone_give_urls_in_runpods_month_bucket(kokoro_worker, seaweed):
    month = time.strftime("%m-%y")            # runpod's rp_upload default bucket name
    make_bucket(seaweed, month)
    worker = worker_with(kokoro_worker, s3_endpoint_url=seaweed.endpoint_url, s3_access_key_id=seaweed.access_key,
                         s3_secret_access_key=seaweed.secret_key)
    assert not worker.library.store.uri.startswith("s3://")      # the voice library stays a directory
    result = worker.handle({"text": "Into the month bucket.", "format": "wav", "output": "url"}, "job-month")
    assert urlsplit(result["audio_url"]).path == f"/{month}/outputs/job-month/speech.wav"
    assert fetch_audio(result["audio_url"]) > 0.5


def test_output_bucket_setting_names_bucket_and_prefix(kokoro_worker, seaweed):
    bucket = f"outs-{uuid.uuid4().hex[:12]}"
    make_bucket(seaweed, bucket)
    worker = worker_with(kokoro_worker, output_bucket=f"s3://{bucket}/tts", s3_endpoint_url=seaweed.endpoint_url,
                         s3_access_key_id=seaweed.access_key, s3_secret_access_key=seaweed.secret_key)
    result = worker.handle({"text": "Into a named bucket.", "format": "wav", "output": "url"}, "job-named")
    assert urlsplit(result["audio_url"]).path == f"/{bucket}/tts/outputs/job-named/speech.wav"
    assert fetch_audio(result["audio_url"]) > 0.5


def test_no_bucket_anywhere_refuses_url_output(kokoro_worker):
    result = worker_with(kokoro_worker).handle({"text": "Hi.", "output": "url"})
    error = error_of(result)
    assert error["code"] == "invalid_input" and "s3Config" in error["hint"]


def test_settings_read_streaming_and_output_bucket():
    settings = load_settings({"STREAMING": "0", "OUTPUT_BUCKET": "s3://b/p"})
    assert settings.streaming is False and settings.output_bucket == "s3://b/p"
    assert load_settings({}).streaming is True and load_settings({}).output_bucket is None


@pytest.fixture(scope="module")
def dir_server(kokoro_worker):
    """The local server over a worker with a directory library and no bucket settings."""
    with serve(create_app(worker_with(kokoro_worker, allow_private_endpoints=True), ServerSettings())) as url:
        yield url


def wait_done(http, job_id):
    deadline = time.monotonic() + 120
    while (body := http.get(f"/status/{job_id}").json())["status"] in ("IN_QUEUE", "IN_PROGRESS"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return body


def test_job_s3config_sends_audio_to_the_jobs_bucket(dir_server, seaweed):
    bucket = f"job-{uuid.uuid4().hex[:12]}"
    make_bucket(seaweed, bucket)
    s3 = {"accessId": seaweed.access_key, "accessSecret": seaweed.secret_key, "bucketName": bucket,
          "endpointUrl": seaweed.endpoint_url}
    with httpx.Client(base_url=dir_server, timeout=30) as http:
        job_id = http.post("/v2/ep/run", json={"input": {"text": "Into the job's bucket.", "format": "wav",
                                                          "output": "url"}, "s3Config": s3}).json()["id"]
        done = wait_done(http, job_id)
    assert done["status"] == "COMPLETED", done
    url = done["output"][0]["audio_url"]
    assert urlsplit(url).path == f"/{bucket}/outputs/{job_id}/speech.wav" and fetch_audio(url) > 0.5
    assert seaweed.secret_key not in json.dumps(done)


def test_job_s3config_with_a_wrong_secret_fails_without_showing_it(dir_server, seaweed, caplog):
    wrong = f"wrong-{uuid.uuid4().hex}"
    s3 = {"accessId": seaweed.access_key, "accessSecret": wrong, "bucketName": "anything",
          "endpointUrl": seaweed.endpoint_url}
    with httpx.Client(base_url=dir_server, timeout=30) as http:
        job_id = http.post("/run", json={"input": {"text": "Hi.", "output": "url"}, "s3Config": s3}).json()["id"]
        done = wait_done(http, job_id)
    assert done["status"] == "FAILED" and json.loads(done["error"])["code"] == "storage_unavailable"
    assert wrong not in json.dumps(done) and wrong not in caplog.text


def test_batch_with_s3config_delivers_items_and_zip_to_the_jobs_bucket(kokoro_worker, seaweed):
    """The worker's own bucket (OUTPUT_BUCKET) and the job's (s3Config) differ: every URL of the batch points
    into the job's bucket, presigned with the job's key, and the operator's bucket gets nothing."""
    ours, theirs = f"ours-{uuid.uuid4().hex[:12]}", f"theirs-{uuid.uuid4().hex[:12]}"
    make_bucket(seaweed, ours)
    make_bucket(seaweed, theirs)
    worker = worker_with(kokoro_worker, output_bucket=f"s3://{ours}", s3_endpoint_url=seaweed.endpoint_url,
                         s3_access_key_id=seaweed.access_key, s3_secret_access_key=seaweed.secret_key,
                         allow_private_endpoints=True)       # the test's S3 server is on loopback
    s3 = {"accessId": seaweed.access_key, "accessSecret": seaweed.secret_key, "bucketName": theirs,
          "endpointUrl": seaweed.endpoint_url}
    items = [{"text": "The first item.", "format": "wav", "output": "url"},
             {"text": "The second item.", "format": "wav", "output": "url"}]
    result = worker.handle({"batch": items}, "job-batch", s3_config=s3)
    assert result["failed"] == 0, result
    for index, item in enumerate(result["results"]):
        assert urlsplit(item["audio_url"]).path == f"/{theirs}/outputs/job-batch/item-{index:03d}.wav"
        assert fetch_audio(item["audio_url"]) > 0.5
    packed = worker.handle({"batch": items, "zip": True, "output": "url"}, "job-zip", s3_config=s3)
    url = packed["zip"]["zip_url"]
    assert urlsplit(url).path == f"/{theirs}/outputs/job-zip/batch.zip"
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(url, timeout=30).raise_for_status().content))
    assert sorted(archive.namelist()) == ["000.wav", "001.wav", "index.json"]
    operator = S3Store.from_uri(f"s3://{ours}", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                                secret_access_key=seaweed.secret_key)
    assert list(operator.list("")) == []
