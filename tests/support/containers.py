"""Containers of the worker image for tests/image: start, read logs, wait, remove (the Docker CLI in $DOCKER)."""
from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import secrets
import socket
import struct
import subprocess
import time

DOCKER = os.environ.get("DOCKER", "docker")
HOST_ALIAS = "host.docker.internal"      # the docker host as containers see it (--add-host ...:host-gateway)


def docker(*args: str, timeout: float = 120, check: bool = True, input: str | None = None) -> str:
    done = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} ... failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


SIOCGIFADDR = 0x8915


def interface_address(name: str) -> str:
    """An interface's IPv4 address (the SIOCGIFADDR ioctl; no tools needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
    return socket.inet_ntoa(packed[20:24])


def bridge_gateway() -> str:
    """The docker bridge's address on this machine, which containers reach as host.docker.internal: where the
    tests' services listen for containers (never 0.0.0.0 or the machine's public address, so nothing beyond this
    machine reaches them). Docker 20.10 leaves the default bridge's IPAM gateway empty: then the bridge
    interface's own address."""
    info = json.loads(docker("network", "inspect", "bridge", "--format", "{{json .}}"))
    address = next((c.get("Gateway") for c in info["IPAM"]["Config"] or [] if c.get("Gateway")), None)
    if not address:
        address = interface_address(info.get("Options", {}).get("com.docker.network.bridge.name", "docker0"))
    if not ipaddress.ip_address(address).is_private:
        raise RuntimeError(f"the docker bridge's address {address} is not private; refusing to listen there")
    return address


class Container:
    """`docker run -d` of `image` with `env`; removed on close()."""

    def __init__(self, image: str, *command: str, env: dict[str, str] | None = None, network: str | None = None,
                 publish: str | None = None, extra: tuple[str, ...] = ()):
        self.name = f"tts-test-{secrets.token_hex(4)}"
        args = ["run", "-d", "--name", self.name, "--add-host", f"{HOST_ALIAS}:host-gateway", *extra]
        if network:
            args += ["--network", network]
        if publish:
            args += ["-p", publish]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        docker(*args, image, *command)
        self.started = time.monotonic()

    def logs(self) -> str:
        done = subprocess.run([DOCKER, "logs", self.name], capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr

    def state(self) -> dict:
        return json.loads(docker("inspect", "--format", "{{json .State}}", self.name))

    def wait(self, timeout: float = 120) -> int:
        """The exit code, once the container has stopped."""
        return int(docker("wait", self.name, timeout=timeout).strip())

    def port(self, container_port: int) -> int:
        return int(docker("port", self.name, str(container_port)).strip().splitlines()[0].rsplit(":", 1)[1])

    def close(self) -> None:
        docker("rm", "-f", self.name, check=False)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
