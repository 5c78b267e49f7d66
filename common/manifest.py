"""manifest.json beside baked weights: every file's size and sha256, checked when a backend starts."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import BackendUnavailable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
IGNORED = (MANIFEST, ".cache")      # the manifest itself; huggingface_hub's download bookkeeping
_HINT = "rebuild the image, or bake the weights again with: python -m builder bake"
HASH_CHUNK = 16 * 1024 * 1024   # large reads: a check running beside imports takes the GIL back rarely


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 16 MB chunks (hashlib.file_digest's 256 KB chunks each wait for the GIL: beside
    torch's import that made a 3 GB check 4.5x slower)."""
    digest = hashlib.sha256()
    chunk = bytearray(HASH_CHUNK)
    view = memoryview(chunk)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(chunk):
            digest.update(view[:size])
    return digest.hexdigest()


def revision_of(digests: dict[str, str]) -> str:
    """One short id for a set of files: sha256 over their sorted (path, sha256) pairs."""
    lines = "".join(f"{path}\t{digest}\n" for path, digest in sorted(digests.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


def model_files(model_dir: Path) -> list[str]:
    """Relative POSIX paths of the files a manifest covers."""
    return sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*")
                  if p.is_file() and p.relative_to(model_dir).parts[0] not in IGNORED)


def write_manifest(model_dir: str | Path, backend: str, source: str | None = None,
                   source_revision: str | None = None, extra: dict | None = None) -> dict:
    """Hash every file under `model_dir` and write manifest.json there; `extra` adds top-level entries
    (e.g. the baked whisper model's source)."""
    model_dir = Path(model_dir)
    files: list[dict[str, Any]] = [
        {"path": name, "size": (model_dir / name).stat().st_size, "sha256": file_sha256(model_dir / name)}
        for name in model_files(model_dir)]
    manifest = {
        "backend": backend,
        "source": source,
        "source_revision": source_revision,
        "revision": revision_of({f["path"]: f["sha256"] for f in files}),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
        "files": files,
    }
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s: %d files, revision %s", model_dir / MANIFEST, len(files), manifest["revision"])
    return manifest


def listed_sha256(model_dir: str | Path, name: str) -> str | None:
    """The sha256 manifest.json records for `name`, for a backend that hashes the file itself anyway (no second
    pass over it); None without a manifest. A manifest that does not list the file is BackendUnavailable."""
    model_dir = Path(model_dir)
    if not (model_dir / MANIFEST).is_file():
        return None
    try:
        files = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
        digests = {str(f["path"]): str(f["sha256"]).lower() for f in files}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailable(f"{model_dir / MANIFEST} is not a valid manifest", hint=_HINT) from exc
    if name not in digests:
        raise BackendUnavailable(f"model file {name} is not listed in {model_dir / MANIFEST} "
                                 "and would load unverified", hint=_HINT)
    return digests[name]


def verify_manifest(model_dir: str | Path, must_list: Sequence[str] = ()) -> str:
    """Check every listed file's presence, size and sha256, and that the files in `must_list` (those the backend
    will read) are listed: an unlisted file would load unverified. Returns the weights' revision id."""
    model_dir = Path(model_dir)
    hint = _HINT
    try:
        manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        digests = {str(f["path"]): (int(f["size"]), str(f["sha256"]).lower()) for f in files}
    except OSError as exc:
        raise BackendUnavailable(f"cannot read {model_dir / MANIFEST}: {exc.strerror}", hint=hint) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailable(f"{model_dir / MANIFEST} is not a valid manifest", hint=hint) from exc
    unlisted = [name for name in must_list if name not in digests]
    if unlisted:
        raise BackendUnavailable(f"model file {', '.join(unlisted)} is not listed in {model_dir / MANIFEST} "
                                 "and would load unverified", hint=hint)
    for name, (size, digest) in digests.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts:
            raise BackendUnavailable(f"the manifest lists a path outside the model directory: {name}", hint=hint)
        path = model_dir / rel
        if not path.is_file():
            raise BackendUnavailable(f"model file {name} is missing from {model_dir}", hint=hint)
        if path.stat().st_size != size:
            raise BackendUnavailable(f"model file {name} has {path.stat().st_size} bytes; the manifest says {size}",
                                     hint=hint)
        if file_sha256(path) != digest:
            raise BackendUnavailable(f"model file {name} does not match its sha256 in the manifest", hint=hint)
    revision = revision_of({name: digest for name, (_, digest) in digests.items()})
    log.info("verified %d model files in %s (revision %s)", len(digests), model_dir, revision)
    return revision
