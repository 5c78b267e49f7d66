"""The worker loads beside the RunPod SDK's import without importing anything itself (one importing thread), and
handler.start() runs no py-cpuinfo subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, subprocess, sys, threading

spawned = []
real_popen_init = subprocess.Popen.__init__
def popen_init(self, args, *rest, **kwargs):
    spawned.append(str(args)[:200])
    return real_popen_init(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = popen_init

imports = []
class Audit:
    def find_spec(self, name, path=None, target=None):
        imports.append((threading.current_thread().name, name))
        return None
sys.meta_path.insert(0, Audit())

import handler
runpod = handler.start()
worker = handler.get_worker()
result = worker.handle({"text": "Hello there.", "format": "wav"})
print(json.dumps({"loader_imports": [n for t, n in imports if t.startswith(("worker-load", "g2p-load"))],
                  "spawned": spawned,
                  "main_imports": sum(t == "MainThread" for t, n in imports),
                  "runpod": "runpod.serverless" in sys.modules, "worker": type(worker).__name__,
                  "audio": "audio_base64" in result}))
"""


def test_the_loading_thread_imports_nothing_while_the_sdk_is_imported(tmp_path):
    env = {**os.environ, "VOICE_LIBRARY_URI": str(tmp_path / "library"), "TTS_BACKEND": "kokoro"}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["worker"] == "Worker" and report["audio"] and report["runpod"]
    assert report["main_imports"] > 100            # the SDK's import tree, on the main thread
    assert report["loader_imports"] == []
    # py-cpuinfo's `python cpuinfo.py --json` (which itself sleeps 1 s in a CPUID probe) is not run; its import's
    # own `file -b` and `uname -p` calls may be
    assert [cmd for cmd in report["spawned"] if "cpuinfo" in cmd or "--json" in cmd] == []
    assert report["spawned"], "the audit saw no subprocess at all: it would not see cpuinfo's either"

