"""handler.import_runpod: the RunPod SDK without py-cpuinfo's subprocesses, with the same processor name, and
py-cpuinfo left as it was; the SSH library its CLI imports is loaded only when something uses it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SDK_CHILD = r"""
import json, sys, cpuinfo
real = cpuinfo.get_cpu_info
from handler import cpu_brand, import_runpod
runpod = import_runpod()
from runpod.serverless.utils import rp_debugger
ssh_loaded = "paramiko.transport" in sys.modules
from runpod.cli.groups.ssh import functions
key = functions.paramiko.RSAKey                     # the CLI's own use of it still works
print(json.dumps({"processor": rp_debugger.PROCESSOR, "kernel": cpu_brand(), "restored": cpuinfo.get_cpu_info is real,
                  "start": callable(runpod.serverless.start), "ssh_loaded_at_import": ssh_loaded,
                  "ssh_key": key.__module__, "ssh_now": "paramiko.transport" in sys.modules}))
"""


def test_the_sdk_import_keeps_a_real_processor_name_and_py_cpuinfo_as_it_was():
    out = subprocess.run([sys.executable, "-c", SDK_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["restored"] and report["start"]
    assert report["processor"] == report["kernel"] and report["processor"] not in ("", "unknown")


def test_the_sdk_import_leaves_the_cli_ssh_library_until_it_is_used():
    out = subprocess.run([sys.executable, "-c", SDK_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["ssh_loaded_at_import"] is False
    assert report["ssh_key"] == "paramiko.rsakey" and report["ssh_now"] is True


FRESH_CHILD = r"""
import json, subprocess, sys
spawned = []
real_init = subprocess.Popen.__init__
subprocess.Popen.__init__ = lambda self, args, *a, **k: spawned.append(str(args)) or real_init(self, args, *a, **k)
from handler import cpu_brand, import_runpod
import_runpod()
from runpod.serverless.utils import rp_debugger
during = list(spawned)
import cpuinfo                                          # py-cpuinfo itself, for whoever imports it later
print(json.dumps({"processor": rp_debugger.PROCESSOR, "kernel": cpu_brand(), "spawned": during,
                  "real": callable(getattr(cpuinfo, "get_cpu_info", None)) and hasattr(cpuinfo, "CPUINFO_VERSION")}))
"""


def test_without_py_cpuinfo_imported_the_sdk_import_runs_no_subprocess_at_all():
    out = subprocess.run([sys.executable, "-c", FRESH_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["spawned"] == []                     # neither cpuinfo's probe nor its import's `file` and `uname -p`
    assert report["processor"] == report["kernel"] and report["real"]
