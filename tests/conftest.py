"""Shared fixtures: real workers on the CPU backends (own library directories) and one real S3 server."""
from __future__ import annotations

import secrets

import pytest

from tests.seaweed import SeaweedServer, seaweed_server

from jobcore.settings import Settings
from jobcore.worker import Worker


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
