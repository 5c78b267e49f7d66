"""builder bake reads each backend's one weights declaration; hub downloads are pinned to one commit, which the
manifest records; `--whisper` bakes a whisper model into the same manifest. (No hub here: the two hub calls are
replaced by stand-ins that act like them on a local directory.)"""
from __future__ import annotations

import dataclasses
import json

import pytest

import builder.bake as bake_module
from backends import REGISTRY, backend_class
from backends.g2p_tables import TABLES_DIR
from backends.kokoro_timing import TIMING_FILE
from builder.__main__ import main
from builder.bake import BakeError, bake
from common.manifest import MANIFEST, verify_manifest

COMMIT = "0123456789abcdef0123456789abcdef01234567"
HUB_BACKENDS = [name for name in REGISTRY if backend_class(name).weights.repo_id]


@pytest.fixture
def hub(monkeypatch):
    """Records what bake asks the hub for; the 'download' writes the requested files (globs not expanded)."""
    calls = {"resolve": [], "download": []}

    def resolve_commit(repo_id, revision, token):
        calls["resolve"].append((repo_id, revision))
        return COMMIT

    def download(repo_id, dest, patterns, commit, token):
        calls["download"].append((repo_id, tuple(patterns), commit))
        for name in patterns:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(f"{repo_id}@{commit}:{name}".encode())

    monkeypatch.setattr(bake_module, "resolve_commit", resolve_commit)
    monkeypatch.setattr(bake_module, "download", download)
    return calls


@pytest.mark.parametrize("name", HUB_BACKENDS)
def test_bake_takes_the_declared_files_and_records_the_resolved_commit(name, hub, tmp_path):
    weights = backend_class(name).weights
    manifest = bake(name, tmp_path / name)
    assert hub["resolve"] == [(weights.repo_id, weights.revision), *((repo, None) for _, repo in weights.subrepos)]
    assert hub["download"] == [(weights.repo_id, weights.files_from(None), COMMIT),
                               *((repo, weights.files_from(sub), COMMIT) for sub, repo in weights.subrepos)]
    assert manifest["source"] == weights.repo_id and manifest["source_revision"] == COMMIT
    assert sorted(f["path"] for f in manifest["files"]) == sorted(weights.files)
    assert json.loads((tmp_path / name / MANIFEST).read_text())["source_revision"] == COMMIT


def test_subrepos_go_into_their_subdirectories_each_pinned_and_recorded(hub, tmp_path):
    """higgs: the generation model at the top, the audio tokenizer, its HuBERT and the whisper processor in their
    own subdirectories, each repo's own file names, each commit in the manifest."""
    manifest = bake("higgs", tmp_path / "higgs")
    repos = [repo for repo, _, _ in hub["download"]]
    assert repos == ["bosonai/higgs-audio-v2-generation-3B-base", "bosonai/higgs-audio-v2-tokenizer",
                     "bosonai/hubert_base", "openai/whisper-large-v3-turbo"]
    assert hub["download"][1][1] == ("config.json", "model.pth")
    assert (tmp_path / "higgs" / "audio_tokenizer" / "model.pth").read_bytes() == \
        f"bosonai/higgs-audio-v2-tokenizer@{COMMIT}:model.pth".encode()
    assert manifest["subrepos"]["hubert_base"] == {"source": "bosonai/hubert_base", "source_revision": COMMIT}
    assert manifest["source"] == "bosonai/higgs-audio-v2-generation-3B-base"
    assert verify_manifest(tmp_path / "higgs", must_list=backend_class("higgs").weights.required)


def test_revision_given_or_declared_is_what_the_hub_resolves(hub, tmp_path, monkeypatch):
    cls = backend_class("xtts")
    bake("xtts", tmp_path / "a", revision="v2.0.3")
    monkeypatch.setattr(cls, "weights", dataclasses.replace(cls.weights, revision="feedface"))
    bake("xtts", tmp_path / "b")
    bake("xtts", tmp_path / "c", revision="main")
    assert [revision for _, revision in hub["resolve"]] == ["v2.0.3", "feedface", "main"]
    assert {commit for _, _, commit in hub["download"]} == {COMMIT}


def test_packaged_weights_are_declared_as_such(tmp_path):
    for name in ("kokoro", "hibari"):
        weights = backend_class(name).weights
        manifest = bake(name, tmp_path / name)
        assert manifest["source"] == f"package:{weights.package}"
        paths = [f["path"] for f in manifest["files"]]
        assert sorted(p for p in paths if not p.startswith(f"{TABLES_DIR}/") and p != TIMING_FILE) == sorted(weights.required)
        # Kokoro's English G2P tables (backends/g2p_tables.py) and its bake record (kokoro_timing) are listed too
        assert any(p.startswith(f"{TABLES_DIR}/") for p in paths) == (name == "kokoro") == (TIMING_FILE in paths)


def test_bake_whisper_from_a_directory_into_the_manifest(tmp_path):
    src = tmp_path / "ct2"
    src.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt", "README.md"):
        (src / name).write_bytes(name.encode())
    dest = tmp_path / "m"
    assert main(["bake", "--backend", "hibari", "--dest", str(dest), "--whisper", str(src)]) == 0
    manifest = json.loads((dest / MANIFEST).read_text())
    assert manifest["whisper"] == {"source": str(src.resolve())}
    assert sorted(f["path"] for f in manifest["files"]) == [
        "hibari.onnx", "whisper/config.json", "whisper/model.bin", "whisper/tokenizer.json", "whisper/vocabulary.txt"]
    assert verify_manifest(dest) == manifest["revision"]
    (src / "model.bin").unlink()
    with pytest.raises(BakeError, match="no whisper model"):
        bake("hibari", tmp_path / "n", whisper=str(src))
