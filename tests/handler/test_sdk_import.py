"""handler.import_runpod: the RunPod SDK without py-cpuinfo's subprocess, with the same processor name, and
py-cpuinfo left as it was."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SDK_CHILD = r"""
import json, cpuinfo
real = cpuinfo.get_cpu_info
from handler import cpu_brand, import_runpod
runpod = import_runpod()
from runpod.serverless.utils import rp_debugger
print(json.dumps({"processor": rp_debugger.PROCESSOR, "kernel": cpu_brand(), "restored": cpuinfo.get_cpu_info is real,
                  "start": callable(runpod.serverless.start)}))
"""


def test_the_sdk_import_keeps_a_real_processor_name_and_py_cpuinfo_as_it_was():
    out = subprocess.run([sys.executable, "-c", SDK_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["restored"] and report["start"]
    assert report["processor"] == report["kernel"] and report["processor"] not in ("", "unknown")
