"""An S3 write that answers 404 (a missing bucket, a bare 404 from some servers) is storage_unavailable with a hint
naming the bucket, never an internal_error with a traceback."""
from __future__ import annotations

import http.server
import threading
from dataclasses import replace

import pytest

from common.errors import StorageUnavailable
from jobcore.worker import Worker
from storage import open_store
from tests.support.jobs import error_of


class Bare404(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_GET = do_HEAD = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bare404)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_404_on_write_and_list_is_storage_unavailable_naming_the_bucket(endpoint):
    store = open_store("s3://no-such-bucket/lib", endpoint_url=endpoint, access_key_id="a", secret_access_key="b",
                       max_attempts=1)
    for op in (lambda: store.write("outputs/x/speech.wav", b"data"), lambda: store.list("voices/")):
        with pytest.raises(StorageUnavailable) as caught:
            op()
        assert "no-such-bucket" in caught.value.hint


def test_a_job_whose_output_bucket_is_missing_fails_clearly(hibari_worker, endpoint):
    settings = replace(hibari_worker.settings, output_bucket="missing-outputs", s3_endpoint_url=endpoint,
                       s3_access_key_id="a", s3_secret_access_key="b", s3_max_attempts=1)
    worker = Worker(settings, hibari_worker.backend, hibari_worker.library)
    result = worker.handle({"text": "Hi.", "format": "wav", "output": "url"})
    error = error_of(result)
    assert error["code"] == "storage_unavailable" and "missing-outputs" in error["hint"], error
