"""The worker loads beside the RunPod SDK's import without importing anything itself (one importing thread),
handler.start() runs no py-cpuinfo subprocess, and no cycle collection runs during it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import gc, json, subprocess, sys, threading

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
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
runpod = handler.start()
during = len(collections)
subprocess.run(["true"], check=True)
worker = handler.get_worker()
result = worker.handle({"text": "Hello there.", "format": "wav"})
print(json.dumps({"loader_imports": [n for t, n in imports if t.startswith(("worker-load", "g2p-load"))],
                  "spawned": spawned,
                  "main_imports": sum(t == "MainThread" for t, n in imports),
                  "runpod": "runpod.serverless" in sys.modules, "worker": type(worker).__name__,
                  "audio": "audio_base64" in result,
                  "gc": {"during_start": during, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    env = {**os.environ, "VOICE_LIBRARY_URI": str(tmp_path_factory.mktemp("library")), "TTS_BACKEND": "kokoro"}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_loading_thread_imports_nothing_while_the_sdk_is_imported(report):
    assert report["worker"] == "Worker" and report["audio"] and report["runpod"]
    assert report["main_imports"] > 100            # the SDK's import tree, on the main thread
    assert report["loader_imports"] == []
    # py-cpuinfo's `python cpuinfo.py --json` (which itself sleeps 1 s in a CPUID probe) is not run, nor its import's
    # `file -b` and `uname -p`: nothing is (the child's own `true` afterwards shows the audit sees what is)
    assert report["spawned"] == ["['true']"]



def test_no_collection_runs_during_start_up_and_what_it_made_is_frozen(report):
    """The start-up's objects are long-lived: the collector is paused while they are made, then on again with them
    out of its sight (common/collector.py)."""
    assert report["gc"]["during_start"] == 0 and report["gc"]["enabled"]
    assert report["gc"]["frozen"] > 50_000           # modules, the G2P, the voices: everything tracked at the end
