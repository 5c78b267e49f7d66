"""Shared by the torch-based backends: device choice, baked-weight checks and revision, env caps, versions, warm-up
and memory release."""
from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from common.errors import BackendUnavailable
from common.manifest import MANIFEST, file_sha256, revision_of, verify_manifest

from .base import Backend, Weights


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


def hashed_revision(model_dir: Path, weights: Weights) -> str:
    """Without a manifest: hash the model files themselves (the builder's scheme, so a fresh bake agrees).
    The required files, then those optional ones that are there."""
    names = [*weights.required, *(name for name in weights.optional if (model_dir / name).is_file())]
    return revision_of({name: file_sha256(model_dir / name) for name in names})


def check_weights(model_dir: Path, weights: Weights, backend: str) -> str:
    """The weights' revision: the manifest's, verified, if there is one, else the files' hash.
    Refuses a directory that lacks a required file, and a manifest that leaves out a file the backend reads
    (a required one, or an optional one that is there): such a file would load unverified.
    Nothing heavy is imported before this passes."""
    missing = [name for name in weights.required if not (model_dir / name).is_file()]
    if missing:
        raise BackendUnavailable(f"the {backend} model in {model_dir} lacks {', '.join(missing)}",
                                 hint=f"bake it with: python -m builder bake --backend {backend}")
    if not (model_dir / MANIFEST).is_file():
        return hashed_revision(model_dir, weights)
    read = [*weights.required, *(name for name in weights.optional if (model_dir / name).is_file())]
    return verify_manifest(model_dir, must_list=read)


@contextmanager
def library_required(library: str, hint: str) -> Iterator[None]:
    """Imports in this block that fail are BackendUnavailable, naming the missing module and `library`."""
    try:
        yield
    except ImportError as exc:
        raise BackendUnavailable(f"{library} is not installed ({exc.name} is missing)", hint=hint) from exc


def use_torch(threads: int, device: str) -> str:
    """Set torch's thread count (0 = its default) and resolve the device; call once torch imports."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return resolve_device(device)


# weight checks started by check_ahead, by (backend, model directory), until the load takes them
_checks: dict[tuple[str, str], Future[str]] = {}
_checks_lock = threading.Lock()


class TorchBackend(Backend):
    """A backend whose model lives on a torch device. `load()` (in each subclass) checks the baked directory with
    `baked_dir`, imports the engine, picks the device with `use_torch` and builds the model; `__init__` takes
    the loaded model, its device and revision. One lock serialises the model's use (embed and synthesize)."""

    #: distributions reported by versions(), in this order, those installed
    packages: ClassVar[tuple[str, ...]] = ("torch",)
    #: why warm-up has nothing to say, logged when there is no stock voice
    no_warmup_voice: ClassVar[str] = "no stock voice"

    def __init__(self, model, *, device: str, revision: str):
        self.model = model
        self.device = device
        self.revision = revision
        self._lock = threading.Lock()

    @classmethod
    def check_ahead(cls, model_dir: str | None) -> None:
        """Read and hash the baked weights (gigabytes: seconds) on a thread while the caller imports torch and the
        engine (seconds too); hashlib and file reads let go of the GIL, so the two overlap."""
        if not model_dir:
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="weights-check")
        with _checks_lock:
            _checks[(cls.name, str(Path(model_dir)))] = pool.submit(check_weights, Path(model_dir), cls.weights,
                                                                    cls.name)
        pool.shutdown(wait=False)

    @classmethod
    def baked_dir(cls, model_dir: str | None) -> tuple[Path, str]:
        """MODEL_DIR checked against `cls.weights` (required files, manifest); with the weights' revision.
        A check started by `check_ahead` is waited for (its error raised here), not done again."""
        if not model_dir:
            raise BackendUnavailable(f"the {cls.name} backend needs its weights in MODEL_DIR",
                                     hint=f"bake them with: python -m builder bake --backend {cls.name} --dest DIR")
        path = Path(model_dir)
        with _checks_lock:
            ahead = _checks.pop((cls.name, str(path)), None)
        return path, ahead.result() if ahead is not None else check_weights(path, cls.weights, cls.name)

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

    def _release(self) -> None:
        """Drop the references to the model's memory (called under the lock)."""
        self.model = None

    def close(self) -> None:
        if self.model is None:
            return
        with self._lock:
            self._release()
        import gc

        import torch

        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
