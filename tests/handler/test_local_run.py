"""handler.py run the way RunPod users test it locally: one job from the command line, through the SDK."""
import json
import os
import subprocess
import sys
from pathlib import Path


def test_handler_py_runs_a_job_as_a_user_would(tmp_path):
    """`python handler.py --test_input ...` is how RunPod users test locally."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "VOICE_LIBRARY_URI": str(tmp_path / "lib"), "TTS_BACKEND": "hibari"}
    job = json.dumps({"input": {"text": "Hello from the command line.", "format": "wav"}})
    proc = subprocess.run([sys.executable, str(root / "handler.py"), "--test_input", job], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "audio_base64" in proc.stdout + proc.stderr
    bad = json.dumps({"input": {"text": "hi", "format": "webm"}})
    proc = subprocess.run([sys.executable, str(root / "handler.py"), "--test_input", bad], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180)
    assert "unsupported_format" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
