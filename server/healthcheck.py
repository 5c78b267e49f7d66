"""The image's health check: in load-balancing mode the server's GET /ping must answer 200; a container running
the queue worker (handler.py) has no HTTP port and counts as healthy. Run as a file (`python server/healthcheck.py`:
the server package's own imports are heavy), standard library only: it runs every 30 s beside the worker."""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def serving(cmdline_path: str = "/proc/1/cmdline") -> bool:
    """Whether the container's main process is the local server (`python -m server`)."""
    try:
        with open(cmdline_path, "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return True          # cannot tell: check the port
    return any(a == b"-m" and b == b"server" for a, b in zip(args, args[1:], strict=False))


def ping_status(port: int, timeout: float = 4.0) -> int | None:
    """GET /ping's status code on this machine, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def main() -> int:
    if not serving():
        return 0
    port = int(os.environ.get("PORT_HEALTH") or os.environ.get("PORT") or 8000)
    status = ping_status(port)
    print(f"GET /ping on port {port}: {status or 'no answer'}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
