"""A job's s3Config follows the address rule of audio_url and webhooks (checked, pinned), bucket names follow S3's
rules, and a failed upload never tells the caller what the far end answered (no port scanner)."""
from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
import uuid
from dataclasses import replace

import pytest

from jobcore.worker import Worker
from tests.support.jobs import error_of
from tests.support.seaweed import s3_settings


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with a fixed status and S3-style error body; remembers what arrived."""

    status, code, seen = 403, "AccessDenied", []

    def _answer(self):
        type(self).seen.append((self.command, self.path, dict(self.headers)))
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = f"<Error><Code>{self.code}</Code><Message>secret far-end detail</Message></Error>".encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_GET = do_HEAD = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def far_end():
    servers = []

    def start(status: int, code: str) -> str:
        handler = type("H", (Recorder,), {"status": status, "code": code, "seen": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.seen

    yield start
    for server in servers:
        server.shutdown()


def s3(endpoint: str, bucket: str | None = "outputs") -> dict:
    config = {"accessId": "AKIDEXAMPLE", "accessSecret": "not-a-real-secret", "endpointUrl": endpoint}
    return {**config, "bucketName": bucket} if bucket is not None else config


def job(worker, config) -> dict:
    return worker.handle({"text": "Hi.", "format": "wav", "output": "url"}, "job-1", s3_config=config)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:{port}", "http://localhost:{port}", "http://[::1]:{port}",
                                      "http://169.254.169.254", "http://10.1.2.3:9000", "http://[::ffff:127.0.0.1]:{port}",
                                      "https://0.0.0.0"])
def test_private_endpoints_are_refused_before_any_request(hibari_worker, far_end, endpoint):
    url, seen = far_end(403, "AccessDenied")
    error = error_of(job(hibari_worker, s3(endpoint.format(port=url.rsplit(":", 1)[1]))))
    assert error["code"] == "invalid_input" and "s3Config.endpointUrl" in error["message"]
    assert "ALLOW_PRIVATE_ENDPOINTS" in error["hint"]
    assert seen == []


@pytest.mark.parametrize("bucket", ["../etc", "a", "UPPER", "has_underscore", "1.2.3.4", "x..y", "-start",
                                    "s3://good-bucket/../up", "good-bucket/../../x", "xn--punycode", "b" * 64])
def test_bucket_names_follow_s3_rules(hibari_worker, far_end, bucket):
    url, seen = far_end(200, "")
    worker = Worker(replace(hibari_worker.settings, allow_private_endpoints=True), hibari_worker.backend,
                    hibari_worker.library)
    error = error_of(job(worker, s3(url, bucket)))
    assert error["code"] == "invalid_input", error
    assert seen == []


def test_a_failed_upload_says_the_same_whatever_the_far_end_answered(hibari_worker, far_end):
    worker = Worker(replace(hibari_worker.settings, allow_private_endpoints=True, s3_max_attempts=1),
                    hibari_worker.backend, hibari_worker.library)
    denied, seen_denied = far_end(403, "AccessDenied")
    missing, seen_missing = far_end(404, "NoSuchBucket")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    errors = [error_of(job(worker, s3(endpoint))) for endpoint in (denied, missing, closed_url)]
    assert seen_denied and seen_missing                       # the requests did reach those two
    assert errors[0] == errors[1] == errors[2], errors
    assert errors[0]["code"] == "storage_unavailable" and "outputs" in errors[0]["hint"]
    text = json.dumps(errors[0])
    for leak in ("AccessDenied", "NoSuchBucket", "403", "404", "far-end", "Connection", "Endpoint"):
        assert leak not in text


def test_the_checked_address_is_the_one_connected_to(hibari_worker, seaweed, monkeypatch):
    """s3.pinned.test resolves (to the SeaweedFS on loopback) only for the address check: any other lookup of the
    name fails, so an upload that works went to the checked answer."""
    bucket = f"pin-{uuid.uuid4().hex[:12]}"
    s3_settings(hibari_worker.settings, seaweed, bucket)          # makes the bucket
    port = int(seaweed.endpoint_url.rsplit(":", 1)[1])
    real, lookups = socket.getaddrinfo, []

    def only_for_the_check(host, *args, **kwargs):
        if host == "s3.pinned.test":
            caller = sys._getframe(1).f_code.co_filename
            lookups.append(caller)
            if not caller.endswith("fetch.py"):
                raise socket.gaierror("only the address check may look this name up")
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", only_for_the_check)
    worker = Worker(replace(hibari_worker.settings, allow_private_endpoints=True), hibari_worker.backend,
                    hibari_worker.library)
    config = {"accessId": seaweed.access_key, "accessSecret": seaweed.secret_key, "bucketName": bucket,
              "endpointUrl": f"http://s3.pinned.test:{port}"}
    result = job(worker, config)
    assert "error" not in result, result
    assert result["audio_url"].startswith(f"http://s3.pinned.test:{port}/{bucket}/outputs/job-1/")
    assert lookups and all(c.endswith("fetch.py") for c in lookups)
    store_key = "outputs/job-1/speech.wav"
    from storage import open_store
    store = open_store(f"s3://{bucket}", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                       secret_access_key=seaweed.secret_key)
    assert store.list("outputs/job-1/") == [store_key] and len(store.read(store_key).data) > 1000
