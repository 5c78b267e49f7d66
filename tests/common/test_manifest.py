"""common.manifest: the weights manifest is written for every file and verified, naming the bad file."""
from __future__ import annotations

import json

import pytest

from common.errors import BackendUnavailable
from common.manifest import MANIFEST, file_sha256, revision_of, verify_manifest, write_manifest


def test_manifest_lists_every_file_and_verifies(weights):
    manifest = write_manifest(weights, "test", source="here")
    on_disk = json.loads((weights / MANIFEST).read_text())
    assert on_disk == manifest
    assert [f["path"] for f in manifest["files"]] == ["a.safetensors", "sub/b.bin", "tokenizer.json"]
    entry = manifest["files"][0]
    assert entry["size"] == 1000 and entry["sha256"] == file_sha256(weights / "a.safetensors")
    assert verify_manifest(weights) == manifest["revision"] == revision_of(
        {f["path"]: f["sha256"] for f in manifest["files"]})
    assert len(manifest["revision"]) == 12


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "sub" / "b.bin").unlink(), "sub/b.bin is missing"),
    (lambda d: (d / "a.safetensors").write_bytes(b"\x00" * 999), "a.safetensors has 999 bytes"),
    (lambda d: (d / "tokenizer.json").write_text('{"v": 2}'), "tokenizer.json does not match its sha256"),
])
def test_verify_names_the_bad_file(weights, damage, message):
    write_manifest(weights, "test")
    damage(weights)
    with pytest.raises(BackendUnavailable, match=message):
        verify_manifest(weights)


def test_verify_rejects_a_broken_or_escaping_manifest(weights):
    with pytest.raises(BackendUnavailable, match="cannot read"):
        verify_manifest(weights)
    (weights / MANIFEST).write_text("{not json")
    with pytest.raises(BackendUnavailable, match="not a valid manifest"):
        verify_manifest(weights)
    (weights / MANIFEST).write_text(json.dumps({"files": [{"path": "../x", "size": 1, "sha256": "00"}]}))
    with pytest.raises(BackendUnavailable, match="outside the model directory"):
        verify_manifest(weights)
