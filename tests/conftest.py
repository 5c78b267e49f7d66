"""Shared fixtures: real workers on the CPU backends, each with its own voice library directory."""
from __future__ import annotations

import pytest

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
