"""Shared by the torch-based backends: device choice, baked-weight checks and revision, env caps, versions, warm-up and memory release."""
from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from common.errors import BackendUnavailable

from .base import Backend


def resolve_device(device: str) -> str:
    """auto picks cuda, then mps, then cpu; an explicit device that is not there is an error."""
    import torch

    wanted = (device or "auto").strip().lower()
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if wanted == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if wanted.startswith("cuda") and not cuda:
        raise BackendUnavailable(f"DEVICE={device} but torch sees no CUDA GPU", hint="use DEVICE=auto or cpu")
    if wanted == "mps" and not mps:
        raise BackendUnavailable("DEVICE=mps but torch has no MPS device", hint="use DEVICE=auto or cpu")
    if wanted != "cpu" and not wanted.startswith(("cuda", "mps")):
        raise BackendUnavailable(f"unknown device {device!r}", hint="DEVICE is auto, cuda, cuda:N, mps or cpu")
    return wanted


def hashed_revision(model_dir: Path, required: Sequence[str], optional: Sequence[str] = ()) -> str:
    """Without a manifest: hash the model files themselves (the builder's scheme, so a fresh bake agrees).
    The required files, then those optional ones that are there."""
    from common.manifest import file_sha256, revision_of

    names = [*required, *(name for name in optional if (model_dir / name).is_file())]
    return revision_of({name: file_sha256(model_dir / name) for name in names})


def check_weights(model_dir: Path, required: Sequence[str], optional: Sequence[str], backend: str) -> str:
    """The weights' revision: the manifest's, verified, if there is one, else the files' hash.
    Refuses a directory that lacks a required file (before anything heavy is imported)."""
    from common.manifest import MANIFEST, verify_manifest

    revision = verify_manifest(model_dir) if (model_dir / MANIFEST).is_file() else None
    missing = [name for name in required if not (model_dir / name).is_file()]
    if missing:
        raise BackendUnavailable(f"the {backend} model in {model_dir} lacks {', '.join(missing)}",
                                 hint=f"bake it with: python -m builder bake --backend {backend}")
    return revision or hashed_revision(model_dir, required, optional)


@contextmanager
def library_required(library: str, hint: str) -> Iterator[None]:
    """Imports in this block that fail are BackendUnavailable, naming the missing module and `library`."""
    try:
        yield
    except ImportError as exc:
        raise BackendUnavailable(f"{library} is not installed ({exc.name} is missing)", hint=hint) from exc


def env_int(name: str, default: int | None = None) -> int | None:
    """A positive whole number from the environment; unset or blank gives `default`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BackendUnavailable(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise BackendUnavailable(f"{name} must be at least 1")
    return value


class TorchBackend(Backend):
    """A backend whose model lives on a torch device. Subclasses set `model`, `device` and `_lock` in __init__
    (see `_baked_dir` and `_use_torch`)."""

    #: the baked directory: files that must be there, and files hashed into the revision when they are
    weight_files: ClassVar[tuple[str, ...]] = ()
    optional_files: ClassVar[tuple[str, ...]] = ()
    #: distributions reported by versions(), in this order, those installed
    packages: ClassVar[tuple[str, ...]] = ("torch",)
    #: why warm-up has nothing to say, logged when there is no stock voice
    no_warmup_voice: ClassVar[str] = "no stock voice"
    #: attributes close() drops (under the lock), in this order
    released: ClassVar[tuple[str, ...]] = ("model",)

    def _baked_dir(self, model_dir: str | None) -> Path:
        """MODEL_DIR, checked (manifest, required files); sets self.revision."""
        if not model_dir:
            raise BackendUnavailable(f"the {self.name} backend needs its weights in MODEL_DIR",
                                     hint=f"bake them with: python -m builder bake --backend {self.name} --dest DIR")
        path = Path(model_dir)
        self.revision = check_weights(path, self.weight_files, self.optional_files, self.name)
        return path

    def _use_torch(self, threads: int, device: str) -> None:
        """Thread count, device and the model lock; call once torch imports."""
        import threading

        import torch

        if threads:
            torch.set_num_threads(threads)
        self.device = resolve_device(device)
        self._lock = threading.Lock()

    def warmup(self) -> None:
        voices = self.stock_voices()
        if not voices:
            logging.getLogger(type(self).__module__).info("%s warm-up skipped: %s", self.name, self.no_warmup_voice)
            return
        for _ in self.synthesize("Hello.", voices[0].embedding):
            pass

    def versions(self) -> dict[str, str]:
        found = {}
        for package in self.packages:
            try:
                found[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                pass
        return found

    def close(self) -> None:
        model = getattr(self, "model", None)
        if model is None:
            return
        with self._lock:
            for attr in self.released:
                setattr(self, attr, None)
            del model
        import gc

        import torch

        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
