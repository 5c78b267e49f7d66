"""DEVICE (auto, cuda, cuda:N, cpu) to onnxruntime execution providers, with a logged CPU fallback."""
from __future__ import annotations

import logging

from common.errors import BackendUnavailable

log = logging.getLogger(__name__)

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def choose_providers(device: str, available: list[str]) -> list:
    """The providers to ask onnxruntime for; CUDA first when the GPU wheel offers it and DEVICE allows it."""
    device = (device or "auto").strip().lower()
    if device == "cpu":
        return [CPU]
    if device != "auto" and device != "cuda" and not device.startswith("cuda:"):
        raise BackendUnavailable(f"unknown device {device!r}", hint="DEVICE is auto, cuda, cuda:N or cpu")
    if CUDA not in available:
        if device != "auto":
            log.warning("DEVICE=%s but this onnxruntime has no CUDA provider (install onnxruntime-gpu); "
                        "running on the CPU", device)
        return [CPU]
    index = device.partition(":")[2]
    if index and not index.isdigit():
        raise BackendUnavailable(f"unknown device {device!r}", hint="DEVICE is auto, cuda, cuda:N or cpu")
    return [(CUDA, {"device_id": int(index or 0)}), CPU]


def running_provider(session, asked: list) -> str:
    """The provider the session really runs on; onnxruntime drops CUDA quietly when no GPU is visible."""
    running = session.get_providers()[0]
    wanted = asked[0][0] if isinstance(asked[0], tuple) else asked[0]
    if running != wanted:
        log.warning("onnxruntime could not start %s (no usable GPU?); running on %s", wanted, running)
    return running
