"""builder: bake + manifest write/verify on small files, and `voices import` through a real Kokoro worker."""
from __future__ import annotations

import base64
import json
import logging

import pytest

from backends.chatterbox import ChatterboxBackend
from builder.__main__ import main
from builder.bake import BakeError, bake
from common.manifest import MANIFEST, file_sha256, revision_of, verify_manifest, write_manifest
from builder.voices import import_voices
from common.errors import BackendUnavailable
from jobcore.settings import Settings
from voice_library import open_store


@pytest.fixture
def weights(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.safetensors").write_bytes(b"\x00" * 1000)
    (src / "tokenizer.json").write_text('{"v": 1}')
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)))
    return src


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


def test_bake_copies_the_wanted_files_from_a_directory(weights, tmp_path):
    (weights / "ve.safetensors").write_bytes(b"ve")
    (weights / "t3_cfg.safetensors").write_bytes(b"t3")
    (weights / "s3gen.safetensors").write_bytes(b"s3")
    (weights / "README.md").write_text("not a weight")
    dest = tmp_path / "model"
    manifest = bake("chatterbox", dest, source=str(weights), revision="abc123")
    assert sorted(f["path"] for f in manifest["files"]) == ["s3gen.safetensors", "t3_cfg.safetensors",
                                                             "tokenizer.json", "ve.safetensors"]
    assert manifest["source_revision"] == "abc123" and manifest["backend"] == "chatterbox"
    assert verify_manifest(dest) == manifest["revision"]


def test_bake_refuses_incomplete_weights_and_unknown_sources(weights, tmp_path):
    with pytest.raises(BakeError, match="lack ve.safetensors"):
        bake("chatterbox", tmp_path / "model", source=str(weights))
    with pytest.raises(BakeError, match="neither a directory nor"):
        bake("chatterbox", tmp_path / "model", source="/no/such/dir")
    with pytest.raises(BakeError, match="no bake recipe"):
        bake("nope", tmp_path / "model")


def test_bake_writes_packaged_kokoro_weights_that_the_backend_loads(tmp_path):
    from backends.kokoro import KokoroBackend

    manifest = bake("kokoro", tmp_path / "kokoro")
    assert [f["path"] for f in manifest["files"]] == ["kokoro-v1.0.int8.onnx"]
    assert KokoroBackend.load(str(tmp_path / "kokoro")).revision == manifest["files"][0]["sha256"][:12]


def test_bake_cli_exit_codes(weights, tmp_path):
    assert main(["bake", "--backend", "chatterbox", "--dest", str(tmp_path / "m"), "--source", str(weights)]) == 1
    assert main(["bake", "--backend", "hibari", "--dest", str(tmp_path / "h")]) == 0
    assert verify_manifest(tmp_path / "h")


def test_chatterbox_checks_the_manifest_before_loading_anything(weights):
    """Start-up fails with the bad file's name, and without importing torch (so here, without it)."""
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors"):
        (weights / name).write_bytes(name.encode())
    write_manifest(weights, "chatterbox")
    (weights / "t3_cfg.safetensors").write_bytes(b"tampered")
    with pytest.raises(BackendUnavailable, match="t3_cfg.safetensors"):
        ChatterboxBackend.load(str(weights))


@pytest.fixture(scope="module")
def clips(kokoro_worker, tmp_path_factory):
    """Two spoken clips made by the real Kokoro worker, one with a transcript, plus a broken file."""
    folder = tmp_path_factory.mktemp("clips")
    for name, text in (("alice", "Hello, my name is Alice and this is my voice."),
                       ("bob", "Good morning. Bob speaking, with a different sentence.")):
        result = kokoro_worker.handle({"text": text, "format": "wav", "voice": "jf_alpha" if name == "alice" else "jm_kumo"})
        (folder / f"{name}.wav").write_bytes(base64.b64decode(result["audio_base64"]))
    (folder / "alice.txt").write_text("Hello, my name is Alice and this is my voice.\n")
    (folder / "notes.md").write_text("not audio")
    return folder


def test_voices_import_creates_then_skips(clips, tmp_path):
    settings = Settings(backend="kokoro", warmup=False)
    library = tmp_path / "lib"
    results = import_voices(clips, str(library), "kokoro", settings=settings)
    assert [(r.file, r.status, r.detail) for r in results] == [("alice.wav", "created", "alice"),
                                                               ("bob.wav", "created", "bob")]
    store = open_store(str(library))
    alice = json.loads(store.read("voices/alice/voice.json").data)
    assert alice["transcript"] == "Hello, my name is Alice and this is my voice."
    assert store.read("voices/bob/reference.flac") is not None
    again = import_voices(clips, str(library), "kokoro", settings=settings)
    assert [r.status for r in again] == ["skipped", "skipped"]


def test_voices_import_cli_reports_failures(clips, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TTS_BACKEND", "kokoro")
    monkeypatch.setenv("WARMUP", "0")
    (clips / "broken.flac").write_bytes(b"this is not audio")
    try:
        with caplog.at_level(logging.INFO):
            code = main(["voices", "import", str(clips), "--library", str(tmp_path / "lib")])
    finally:
        (clips / "broken.flac").unlink()
    assert code == 1
    assert "2 created, 0 skipped, 1 failed" in caplog.text
    assert "failed broken.flac (audio_invalid" in caplog.text
    assert main(["voices", "import", str(tmp_path / "empty"), "--library", str(tmp_path / "lib")]) == 1
