"""handler.default_sdk_log_level: the SDK logs at INFO (no job outputs) unless the operator chose a level."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
from handler import default_sdk_log_level, import_runpod
default_sdk_log_level()
import_runpod()
from runpod.serverless.modules.rp_logger import RunPodLogger
print(RunPodLogger().level)
"""


def sdk_level(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("RUNPOD_LOG_LEVEL", "RUNPOD_DEBUG_LEVEL")}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env={**clean, **env}, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return out.strip().splitlines()[-1]


def test_the_sdk_logs_at_info_unless_the_operator_sets_a_level():
    assert sdk_level() == "INFO"
    assert sdk_level(RUNPOD_DEBUG_LEVEL="DEBUG") == "DEBUG"
    assert sdk_level(RUNPOD_LOG_LEVEL="WARN", RUNPOD_DEBUG_LEVEL="DEBUG") == "WARN"
