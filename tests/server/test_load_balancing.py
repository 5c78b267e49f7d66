"""`python -m server` as a RunPod load-balancing worker: the app on PORT, GET /ping on PORT and PORT_HEALTH
(204 while the model loads, then 200)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server import load_server_settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_answers_ping_on_port_and_health_port(tmp_path):
    port, health = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKET_", "RUNPOD_"))}
    env.update(TTS_BACKEND="kokoro", VOICE_LIBRARY_URI=str(tmp_path / "lib"), WARMUP="1", HOST="127.0.0.1",
               PORT=str(port), PORT_HEALTH=str(health), LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline, seen = time.monotonic() + 120, []
        while not seen or seen[-1] != 200:
            try:
                seen.append(httpx.get(f"http://127.0.0.1:{health}/ping", timeout=2).status_code)
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.05)
        assert seen[0] == 204 and set(seen) == {204, 200}   # initializing while the model loads, then ready
        assert httpx.get(f"http://127.0.0.1:{port}/ping").status_code == 200
        speech = httpx.post(f"http://127.0.0.1:{port}/v1/audio/speech", timeout=60,
                            json={"model": "tts-1", "input": "Straight from the worker.", "response_format": "wav"})
        assert speech.status_code == 200 and speech.content[:4] == b"RIFF" and len(speech.content) > 10_000
    finally:
        proc.terminate()
        proc.wait(15)


def test_on_runpod_the_server_listens_on_all_interfaces():
    assert load_server_settings({"RUNPOD_POD_ID": "abc"}).host == "0.0.0.0"
    assert load_server_settings({"RUNPOD_POD_ID": "abc", "HOST": "127.0.0.1"}).host == "127.0.0.1"
    assert load_server_settings({}).host == "127.0.0.1"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_server_whose_model_cannot_load_answers_each_job_with_the_reason(tmp_path, workers):
    """The same start-up path as handler.py: the server keeps serving, and every job (RunPod's API or OpenAI's)
    fails with the start-up error instead of the process exiting."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKET_", "RUNPOD_"))}
    env.update(TTS_BACKEND="no-such-backend", VOICE_LIBRARY_URI=str(tmp_path / "lib"), HOST="127.0.0.1",
               PORT=str(port), WORKERS=workers, LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()[-2000:]
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        done = httpx.post(f"http://127.0.0.1:{port}/runsync", json={"input": {"text": "Hi."}}, timeout=30).json()
        error = json.loads(done["error"])
        assert done["status"] == "FAILED" and error["code"] == "backend_unavailable"
        assert "no-such-backend" in error["message"]
        speech = httpx.post(f"http://127.0.0.1:{port}/v1/audio/speech", json={"input": "Hi."}, timeout=30)
        assert speech.status_code == 503 and speech.json()["error"]["code"] == "backend_unavailable"
        assert not (tmp_path / "lib").exists()          # nothing written for a worker that never started
    finally:
        proc.terminate()
        proc.wait(15)
