"""Shared fixtures: real workers on the CPU backends (own library directories), one real S3 server,
the local server on the Kokoro worker (plain and with an API key), and a small fake weights folder."""
from __future__ import annotations

import secrets

import pytest

from client import TTSClient
from jobcore.settings import Settings
from jobcore.worker import Worker
from server import ServerSettings, create_app
from tests.support.seaweed import SeaweedServer, seaweed_server
from tests.support.servers import API_KEY, serve


@pytest.fixture(scope="session")
def kokoro_worker(tmp_path_factory) -> Worker:
    lib = tmp_path_factory.mktemp("kokoro-lib")
    return Worker.from_settings(Settings(backend="kokoro", voice_library_uri=str(lib), warmup=False))


@pytest.fixture(scope="session")
def hibari_worker(tmp_path_factory) -> Worker:
    lib = tmp_path_factory.mktemp("hibari-lib")
    return Worker.from_settings(Settings(backend="hibari", voice_library_uri=str(lib), warmup=False))


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> SeaweedServer:
    """SeaweedFS on loopback with credentials, for the whole session."""
    access, secret = f"testkey-{secrets.token_hex(4)}", f"testsecret-{secrets.token_hex(12)}"
    with seaweed_server(tmp_path_factory.mktemp("seaweed"), access, secret) as server:
        yield server


@pytest.fixture(scope="session")
def local_app(kokoro_worker):
    return create_app(kokoro_worker, ServerSettings(concurrency=1, webhook_retry_delay_s=0.2,
                                                    allow_private_webhooks=True))


@pytest.fixture(scope="session")
def local_url(local_app):
    with serve(local_app) as url:
        yield url


@pytest.fixture(scope="session")
def keyed_url(kokoro_worker):
    """A second server on the same worker, with an API key and private webhooks refused."""
    with serve(create_app(kokoro_worker, ServerSettings(api_key=API_KEY, result_ttl_s=1.0))) as url:
        yield url


@pytest.fixture
def client(local_url):
    with TTSClient(local_url, timeout=30) as c:
        yield c


@pytest.fixture
def weights(tmp_path):
    """A small folder of fake weight files (not a model): for manifest and bake tests."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.safetensors").write_bytes(b"\x00" * 1000)
    (src / "tokenizer.json").write_text('{"v": 1}')
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)))
    return src
