"""Chatterbox start-up on the CPU without torch: the weights manifest is checked before anything loads."""
from __future__ import annotations

import pytest

from backends.chatterbox import ChatterboxBackend
from common.errors import BackendUnavailable
from common.manifest import write_manifest


def test_chatterbox_checks_the_manifest_before_loading_anything(weights):
    """Start-up fails with the bad file's name, and without importing torch (so here, without it)."""
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors"):
        (weights / name).write_bytes(name.encode())
    write_manifest(weights, "chatterbox")
    (weights / "t3_cfg.safetensors").write_bytes(b"tampered")
    with pytest.raises(BackendUnavailable, match="t3_cfg.safetensors"):
        ChatterboxBackend.load(str(weights))


def baked(weights):
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors"):
        (weights / name).write_bytes(name.encode() * 1000)
    return write_manifest(weights, "chatterbox")


def test_weights_hashed_ahead_on_their_own_thread_are_not_hashed_again(weights, monkeypatch):
    import threading

    import backends.torch_support as torch_support

    manifest, hashed_on = baked(weights), []
    real = torch_support.file_sha256
    monkeypatch.setattr("common.manifest.file_sha256",
                        lambda path: hashed_on.append(threading.current_thread().name) or real(path))
    ChatterboxBackend.check_ahead(str(weights))
    path, revision = ChatterboxBackend.baked_dir(str(weights))
    assert revision == manifest["revision"] and path == weights
    assert len(hashed_on) == len(manifest["files"]) and all(n.startswith("weights-check") for n in hashed_on)
    ChatterboxBackend.baked_dir(str(weights))          # taken once: a later load checks again, here
    assert hashed_on[len(manifest["files"]):] == ["MainThread"] * len(manifest["files"])


def test_a_bad_file_found_ahead_fails_the_load(weights):
    baked(weights)
    (weights / "ve.safetensors").write_bytes(b"tampered")
    ChatterboxBackend.check_ahead(str(weights))
    with pytest.raises(BackendUnavailable, match="ve.safetensors"):
        ChatterboxBackend.load(str(weights))


def test_start_up_hashes_the_weights_beside_the_engine_imports_then_reports_the_missing_engine(weights, tmp_path):
    """Here torch is not installed: the start-up still checks the weights ahead, and the worker it returns is a
    BrokenWorker naming what is missing (not a crash)."""
    from jobcore.settings import Settings
    from jobcore.startup import load_in_background
    from jobcore.worker import BrokenWorker

    baked(weights)
    worker = load_in_background(Settings(backend="chatterbox", model_dir=str(weights),
                                         voice_library_uri=str(tmp_path / "lib"))).result(timeout=120)
    assert isinstance(worker, BrokenWorker)
    assert worker.error.code == "backend_unavailable" and "is not installed" in worker.error.message
