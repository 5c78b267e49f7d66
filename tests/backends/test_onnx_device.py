"""DEVICE for onnxruntime backends: CUDA when the GPU wheel offers it, the CPU otherwise, said in a log line."""
from __future__ import annotations

import logging

import pytest

from backends.onnx_device import CPU, CUDA, choose_providers
from common.errors import BackendUnavailable

GPU_WHEEL = [CUDA, CPU]
CPU_WHEEL = ["AzureExecutionProvider", CPU]


@pytest.mark.parametrize("device, available, expected", [
    ("auto", GPU_WHEEL, [(CUDA, {"device_id": 0}), CPU]),
    ("cuda", GPU_WHEEL, [(CUDA, {"device_id": 0}), CPU]),
    ("cuda:1", GPU_WHEEL, [(CUDA, {"device_id": 1}), CPU]),
    ("cpu", GPU_WHEEL, [CPU]),
    ("auto", CPU_WHEEL, [CPU]),
    ("cuda", CPU_WHEEL, [CPU]),
])
def test_provider_choice(device, available, expected):
    assert choose_providers(device, available) == expected


@pytest.mark.parametrize("device", ["tpu", "cuda:x"])
def test_unknown_devices_are_refused(device):
    with pytest.raises(BackendUnavailable, match="unknown device"):
        choose_providers(device, GPU_WHEEL)


def test_kokoro_asked_for_cuda_here_runs_on_the_cpu_and_says_so(caplog):
    from backends.kokoro import KokoroBackend

    with caplog.at_level(logging.WARNING, logger="backends.onnx_device"):
        backend = KokoroBackend.load(None, threads=1, device="cuda")
    try:
        assert backend.provider == CPU and backend.device == "cpu"
        assert backend.versions()["onnxruntime_provider"] == CPU
        assert any("DEVICE=cuda" in r.getMessage() and "CPU" in r.getMessage() for r in caplog.records)
    finally:
        backend.close()
