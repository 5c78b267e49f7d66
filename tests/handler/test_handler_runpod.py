"""handler.py as RunPod runs it: a worker that cannot start leaves the pool; locally each job says why;
STREAMING picks the handler; s3Config reaches the worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import handler

ROOT = Path(__file__).resolve().parents[2]


def run_handler(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKET_", "RUNPOD_"))}
    base.update({"TTS_BACKEND": "no-such-backend", "VOICE_LIBRARY_URI": str(tmp_path / "lib"), "WARMUP": "0",
                 "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true", "RUNPOD_SKIP_GPU_CHECK": "true", **env})
    return subprocess.run([sys.executable, "handler.py", *args], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=90)


def test_broken_worker_exits_at_start_on_runpod(tmp_path):
    """The SDK's fitness check runs before the first job is pulled (from a queue URL nobody answers)."""
    done = run_handler(tmp_path, RUNPOD_WEBHOOK_GET_JOB="http://127.0.0.1:9/job-take/$RUNPOD_POD_ID",
                       RUNPOD_WEBHOOK_PING="PING_NOT_SET", RUNPOD_POD_ID="test-pod")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-2000:]
    assert "Fitness check failed: worker_fit" in out and "unknown backend 'no-such-backend'" in out


def test_broken_worker_answers_each_job_locally(tmp_path):
    """`python handler.py` (no RunPod queue) keeps the per-job error that says what is wrong."""
    done = run_handler(tmp_path, "--test_input", json.dumps({"input": {"action": "info"}}))
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "backend_unavailable" in out and "Fitness check" not in out, out[-2000:]


def test_streaming_setting_picks_the_registered_handler(monkeypatch):
    monkeypatch.delenv("RUNPOD_WEBHOOK_GET_JOB", raising=False)
    assert handler.serving_handler(["handler.py", "--rp_serve_api"], True) is handler.stream_handler
    assert handler.serving_handler(["handler.py"], True) is handler.handler          # the SDK's local test run
    assert handler.serving_handler(["handler.py", "--rp_serve_api"], False) is handler.handler   # STREAMING=0
    monkeypatch.setenv("RUNPOD_WEBHOOK_GET_JOB", "http://127.0.0.1:9/job-take")
    assert handler.serving_handler(["handler.py"], False) is handler.handler
    assert handler.serving_handler(["handler.py"], True) is handler.stream_handler


def test_a_bad_setting_exits_through_the_fitness_check_on_runpod(tmp_path):
    """A bad variable is read once, when the worker is built: on RunPod the fitness check reports it and the
    SDK exits (no second read of the settings raises before the check can run)."""
    done = run_handler(tmp_path, TTS_BACKEND="kokoro", MAX_TEXT_CHARS="lots",
                       RUNPOD_WEBHOOK_GET_JOB="http://127.0.0.1:9/job-take/$RUNPOD_POD_ID",
                       RUNPOD_WEBHOOK_PING="PING_NOT_SET", RUNPOD_POD_ID="test-pod")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-2000:]
    assert "Fitness check failed: worker_fit" in out and "MAX_TEXT_CHARS='lots'" in out
    assert "serving_handler" not in out and "load_settings" not in out   # no second read raised before it


def test_fitness_check_passes_for_a_working_worker(kokoro_worker, monkeypatch):
    monkeypatch.setattr(handler, "_worker", kokoro_worker)
    handler.worker_fit()


def test_handler_passes_s3config_and_never_echoes_the_secret(kokoro_worker, monkeypatch):
    monkeypatch.setattr(handler, "_worker", kokoro_worker)
    secret = "sekrit-value-123456"
    job = {"id": "j1", "input": {"text": "Hi.", "output": "url"},
           "s3Config": {"accessId": "a", "accessSecret": secret, "endpointUrl": "ftp://nowhere"}}
    error = json.loads(handler.handler(job)["error"])
    assert error["code"] == "invalid_input" and "endpointUrl" in error["message"]
    items = list(handler.stream_handler(job))
    assert len(items) == 1 and secret not in json.dumps(items) and "endpointUrl" in items[0]["error"]


def test_hub_files_ask_for_a_shared_library():
    hub = json.loads((ROOT / ".runpod" / "hub.json").read_text())
    env = {e["key"]: e["input"] for e in hub["config"]["env"]}
    assert "default" not in env["VOICE_LIBRARY_URI"]             # no silent per-worker library
    assert env["BUCKET_ACCESS_KEY_ID"].get("secret") and env["BUCKET_SECRET_ACCESS_KEY"].get("secret")
    assert "BUCKET_ENDPOINT_URL" in env
    tests = json.loads((ROOT / ".runpod" / "tests.json").read_text())
    assert {"key": "VOICE_LIBRARY_URI", "value": "/tmp/voices"} in tests["config"]["env"]   # the Hub's test run
