"""Hostile names and ids, hostile URLs (DNS pinned), and sentinel secrets that must never be shown."""
import io
import json
import logging
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from common.errors import job_output
from jobcore.fetch import fetch_audio
from jobcore.worker import Worker
from storage import open_store
from tests.support.jobs import error_of
from voice_library import ByteLRU, VoiceLibrary


@pytest.fixture
def worker(kokoro_worker, tmp_path):
    library = VoiceLibrary(open_store(str(tmp_path / "lib")), ByteLRU(10_000_000))
    worker = Worker(kokoro_worker.settings, kokoro_worker.backend, library)
    worker.seed_stock_voices()
    return worker


@pytest.mark.parametrize("job", [
    {"action": "voices.create", "id": "../../outside", "name": "x", "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.create", "id": "a/b", "name": "x", "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.create", "name": "bad\x00name", "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.create", "name": "line\nbreak", "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.create", "name": "x" * 10_000, "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.create", "name": "!!!", "blend": {"jf_alpha": 1, "jm_kumo": 1}},
    {"action": "voices.get", "voice": "../../etc/passwd"},
    {"action": "voices.delete", "voice": "../jm_kumo"},
    {"text": "hi", "voice": "x" * 100_000},
])
def test_hostile_names_and_ids_are_refused_and_nothing_escapes(worker, tmp_path, job):
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert error_of(worker.handle(job))["code"] in {"invalid_input", "voice_not_found"}
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == before


def test_a_traversal_name_becomes_a_safe_id_inside_the_library(worker, tmp_path):
    voice = worker.handle({"action": "voices.create", "name": "../../Evil Name",
                           "blend": {"jf_alpha": 1, "jm_kumo": 1}})["voice"]
    assert voice["id"] == "evil-name" and (tmp_path / "lib/voices/evil-name/voice.json").exists()
    assert {p.name for p in tmp_path.iterdir()} == {"lib"}


class _Clip(BaseHTTPRequestHandler):
    body = b""
    hosts: list = []

    def do_GET(self):
        self.hosts.append(self.headers.get("Host"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_the_checked_dns_answer_is_the_one_connected_to(monkeypatch):
    buf = io.BytesIO()
    sf.write(buf, np.zeros(100, np.float32), 24_000, format="WAV")
    _Clip.body, _Clip.hosts = buf.getvalue(), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Clip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    lookups = []

    def fake_dns(host, *args, **kwargs):
        if host == "clips.test":
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    try:
        data = fetch_audio(f"http://clips.test:{server.server_port}/a.wav", 10_000, allow_private=True)
    finally:
        server.shutdown()
    assert data == _Clip.body
    assert lookups == ["clips.test"]                       # resolved once, by the check; never again
    assert _Clip.hosts == [f"clips.test:{server.server_port}"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.1", "::1", "fd00::1",
                                     "100.64.0.1", "0.0.0.0"])
def test_names_resolving_to_private_addresses_are_refused(worker, monkeypatch, address):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))])
    err = error_of(worker.handle({"action": "voices.create", "name": "Rebind", "audio_url": "https://cdn.example/x.wav"}))
    assert err["code"] == "invalid_input" and "private" in err["message"]


def test_sentinel_secrets_never_reach_logs_errors_or_results(kokoro_worker, seaweed, caplog, tmp_path):
    sentinel_key, sentinel_secret = "AKIASENTINEL0000KEY", "sentinel/secret+value0000"
    bad = replace(kokoro_worker.settings, voice_library_uri="s3://secrets-test/lib", s3_endpoint_url=seaweed.endpoint_url,
                  s3_access_key_id=sentinel_key, s3_secret_access_key=sentinel_secret)
    caplog.set_level(logging.INFO)
    for name in ("jobcore", "voice_library", "backends", "handler"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    outputs = [repr(bad), str(bad)]
    try:
        Worker.from_settings(bad, backend=kokoro_worker.backend)
    except Exception as exc:                                   # storage refuses the sentinel credentials
        outputs += [str(exc), repr(exc), json.dumps(getattr(exc, "to_dict", dict)())]
    good = replace(bad, s3_access_key_id=seaweed.access_key, s3_secret_access_key=seaweed.secret_key,
                   voice_library_uri="s3://secrets-ok/lib")
    from storage.s3_store import S3Store
    S3Store.from_uri("s3://secrets-ok", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                     secret_access_key=seaweed.secret_key).ensure_bucket()
    worker = Worker.from_settings(good, backend=kokoro_worker.backend)
    for job in ({"action": "info"}, {"text": "hi", "output": "url"}, {"text": "hi", "voice": "nobody"}):
        outputs.append(json.dumps(job_output(worker.handle(job, "secret-job"))))
    text = "\n".join(outputs + [r.getMessage() for r in caplog.records] + [caplog.text])
    for secret in (sentinel_key, sentinel_secret, seaweed.secret_key):
        assert secret not in text
