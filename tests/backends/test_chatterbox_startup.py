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
