"""Oversized bodies are refused without being held: the server's peak memory (VmHWM) barely moves."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/<pid>/status")

SERVER = """
import socket, sys, uvicorn
from server import ServerSettings, create_app
from tests.support.fake_worker import FakeWorker
uvicorn.run(create_app(FakeWorker(), ServerSettings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
MB = 1024 * 1024
SENT = 200 * MB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=Path(__file__).parents[2])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/health", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the server did not start")
            time.sleep(0.1)
    yield proc, port
    proc.terminate()
    proc.wait(10)


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def send_declared(port: int, path: str) -> bytes:
    """200 MB announced by Content-Length and sent until the server answers or hangs up; the answer's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {SENT}\r\n\r\n".encode())
        chunk, sent = b"a" * MB, 0
        try:
            while sent < SENT:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:   # the server answered and closed
            pass
        try:
            return sock.recv(4096).split(b"\r\n", 1)[0]
        except OSError:
            return b""


def send_chunked(url: str) -> int | None:
    def body():
        chunk = b"a" * MB
        for _ in range(SENT // MB):
            yield chunk
    try:
        return httpx.post(url, content=body(), headers={"content-type": "application/json"}, timeout=60).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


@pytest.mark.parametrize("path", ["/run", "/runsync", "/v1/audio/speech"])
def test_200_mb_bodies_leave_the_peak_memory_flat(server, path):
    proc, port = server
    before = peak_mb(proc.pid)
    assert send_declared(port, path).startswith(b"HTTP/1.1 413")
    chunked = send_chunked(f"http://127.0.0.1:{port}{path}")
    assert chunked in (413, None)
    grown = peak_mb(proc.pid) - before
    print(f"{path}: peak {before:.0f} -> {before + grown:.0f} MB after 2 x 200 MB bodies (chunked: {chunked})")
    assert grown < 40, f"peak memory grew {grown:.0f} MB"
    assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
