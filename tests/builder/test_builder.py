"""builder: bake on small files and the packaged weights, and `voices import` through a real Kokoro worker."""
from __future__ import annotations

import base64
import hashlib
import json
import logging

import pytest

from builder.__main__ import main
from builder.bake import BakeError, bake
from builder.voices import import_voices
from common.manifest import verify_manifest
from jobcore import audio
from jobcore.settings import Settings
from storage import open_store
from tests.support.speech import transcribe, wer


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


def test_bake_writes_packaged_kokoro_weights_that_the_backend_loads(tmp_path, monkeypatch):
    from hibari import g2p as hibari_g2p

    import backends.kokoro as kokoro
    import backends.kokoro_session as kokoro_session
    from backends.g2p_tables import TABLES_DIR
    from backends.kokoro_graph import for_cpu
    from common.errors import BackendUnavailable

    manifest = bake("kokoro", tmp_path / "kokoro")
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    parts = ["kokoro-v1.0.int8.decoder.onnx", "kokoro-v1.0.int8.decoder.onnx.data", "kokoro-v1.0.int8.text.onnx",
             "kokoro-v1.0.int8.text.onnx.data"]
    assert [p for p in files if not p.startswith(f"{TABLES_DIR}/")] == ["kokoro-timing.json", *parts]
    hibari_reads: list[str] = []
    real = hibari_g2p._load_json
    monkeypatch.setattr(hibari_g2p, "_load_json", lambda name: hibari_reads.append(name) or real(name))
    loaded_from: list = []
    real_session = kokoro_session.onnx_session
    monkeypatch.setattr(kokoro_session, "onnx_session",
                        lambda ort, model, *a: loaded_from.append(model) or real_session(ort, model, *a))
    backend = kokoro.KokoroBackend.load(str(tmp_path / "kokoro"))
    # onnxruntime read the files from their paths (the duration output is declared in them), with exact word timings,
    # and the revision is the rewritten graph's, as before the output was declared in the file (stored voices keep
    # working)
    assert sorted(loaded_from) == [str(tmp_path / "kokoro" / name) for name in parts[::2]] and backend.timed
    assert backend.revision == hashlib.sha256(for_cpu(kokoro.read_bundled_model()[0])).hexdigest()[:12]
    assert hibari_reads == []           # the English G2P's tables came from the bake (backends/g2p_tables.py)
    assert "həlˈO" in backend.phonemize("Hello there.")
    chunks = list(backend.synthesize("Hello there, world.", backend.stock_voices()[0].embedding))
    assert [w.word for c in chunks for w in c.words or ()] == ["Hello", "there", "world"]
    backend.close()
    for name in parts:                                              # each graph, each data file
        model = tmp_path / "kokoro" / name
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
        with pytest.raises(BackendUnavailable, match=f"{name} does not match its sha256"):
            kokoro.KokoroBackend.load(str(tmp_path / "kokoro"))
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))


def test_bake_cli_exit_codes(weights, tmp_path):
    assert main(["bake", "--backend", "chatterbox", "--dest", str(tmp_path / "m"), "--source", str(weights)]) == 1
    assert main(["bake", "--backend", "hibari", "--dest", str(tmp_path / "h")]) == 0
    assert verify_manifest(tmp_path / "h")


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
    assert alice["source"] == "fit" and alice["fit_similarity"] > 0.5     # Kokoro fits a voice to each clip
    bob = json.loads(store.read("voices/bob/voice.json").data)
    reference, rate = audio.decode(store.read("voices/bob/reference.flac").data)
    heard = transcribe(reference, rate)
    assert rate == 24_000 and abs(len(reference) / rate - bob["reference_duration_s"]) < 0.01
    assert wer("Good morning. Bob speaking, with a different sentence.", heard) <= 0.2, heard
    again = import_voices(clips, str(library), "kokoro", settings=settings)
    assert [r.status for r in again] == ["skipped", "skipped"]


def test_voices_import_cli_reports_failures(clips, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TTS_BACKEND", "kokoro")
    monkeypatch.setenv("WARMUP", "0")
    (clips / "broken.flac").write_bytes(b"this is not audio")
    try:
        with caplog.at_level(logging.INFO):
            code = main(["voices", "import", str(clips), "--library", str(tmp_path / "lib"), "--no-fit"])
    finally:
        (clips / "broken.flac").unlink()
    assert code == 1
    assert "2 created, 0 skipped, 1 failed" in caplog.text
    assert "failed broken.flac (audio_invalid" in caplog.text
    stored = json.loads(open_store(str(tmp_path / "lib")).read("voices/bob/voice.json").data)
    assert stored["source"] == "clip" and stored["fit_similarity"] is None      # --no-fit: the clip only
    assert main(["voices", "import", str(tmp_path / "empty"), "--library", str(tmp_path / "lib")]) == 1
