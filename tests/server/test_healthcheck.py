"""The image's health check: in load-balancing mode it follows the server's GET /ping; a queue worker passes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server import healthcheck

ROOT = Path(__file__).resolve().parents[2]


def cmdline(tmp_path, *args: str) -> str:
    path = tmp_path / "cmdline"
    path.write_bytes(b"\0".join(a.encode() for a in args) + b"\0")
    return str(path)


def test_which_process_serves(tmp_path):
    assert healthcheck.serving(cmdline(tmp_path, "python", "-m", "server"))
    assert not healthcheck.serving(cmdline(tmp_path, "python", "-u", "handler.py"))
    assert healthcheck.serving(str(tmp_path / "missing"))          # cannot tell: the port decides


def test_ping_status_follows_the_server(local_url):
    port = int(local_url.rsplit(":", 1)[1])
    assert healthcheck.ping_status(port) == 200
    assert healthcheck.ping_status(9, timeout=1) is None             # nothing listens there


def test_runs_as_a_file_without_the_server_package():
    """The image runs it as `python server/healthcheck.py`: standard library only (no FastAPI import every 30 s)."""
    probe = ("import runpy, sys; sys.argv = ['healthcheck']; "
             "runpy.run_path('server/healthcheck.py', run_name='not_main'); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('server', 'fastapi', 'jobcore')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    assert out.strip() == "[]"
