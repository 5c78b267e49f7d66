"""Fixtures for tests of the built image (`make test-image` builds it and names it in TTS_IMAGE): the docker
bridge's address, where the queue stand-in and SeaweedFS listen for containers; the queue worker (handler.py, as
RunPod starts it) and the local server in containers, both on one S3 voice library."""
from __future__ import annotations

import os
import secrets
import time
import uuid

import httpx
import pytest

from storage.s3_store import S3Store
from tests.support.containers import HOST_ALIAS, Container, bridge_gateway
from tests.support.runpod_queue import RunPodQueue
from tests.support.seaweed import seaweed_server

SERVER_KEY = "image-test-key"


def built_image(variable: str) -> str:
    """The image `make test-image` built and named in this environment variable."""
    name = os.environ.get(variable)
    if not name:
        pytest.fail(f"{variable} is not set: `make test-image` builds the images and runs these tests against them")
    return name


@pytest.fixture(scope="session")
def image() -> str:
    return built_image("TTS_IMAGE")


@pytest.fixture(scope="session")
def english_image() -> str:
    """The LANGUAGES=en build."""
    return built_image("TTS_IMAGE_EN")


@pytest.fixture(scope="session")
def gateway(image) -> str:
    return bridge_gateway()


@pytest.fixture(scope="session")
def queue(gateway):
    with RunPodQueue(host=gateway) as q:
        yield q


@pytest.fixture(scope="session")
def s3(gateway, tmp_path_factory):
    """SeaweedFS on the bridge's address (this machine only), with a bucket for the shared voice library."""
    access, secret = f"imgkey-{secrets.token_hex(4)}", f"imgsecret-{secrets.token_hex(12)}"
    with seaweed_server(tmp_path_factory.mktemp("seaweed-image"), access, secret, ip=gateway) as server:
        bucket = f"img-{uuid.uuid4().hex[:12]}"
        S3Store.from_uri(f"s3://{bucket}", endpoint_url=server.endpoint_url, access_key_id=access,
                         secret_access_key=secret).ensure_bucket()
        server.bucket = bucket
        yield server


def library_env(s3) -> dict[str, str]:
    """The S3 library as a container reaches it (RunPod's BUCKET_* names)."""
    return {"VOICE_LIBRARY_URI": f"s3://{s3.bucket}/lib",
            "BUCKET_ENDPOINT_URL": f"http://{HOST_ALIAS}:{s3.ports['s3']}",
            "BUCKET_ACCESS_KEY_ID": s3.access_key, "BUCKET_SECRET_ACCESS_KEY": s3.secret_key}


@pytest.fixture(scope="session")
def queue_worker(image, queue, s3):
    """`python -u handler.py` (the image's command) taking jobs from the queue stand-in, the library on S3."""
    with Container(image, env={**queue.worker_env(HOST_ALIAS), **library_env(s3)}) as container:
        yield container


@pytest.fixture(scope="session")
def server(image, s3):
    """`python -m server` in a container, published on a loopback port of this machine; its base URL."""
    env = {"HOST": "0.0.0.0", "SERVER_API_KEY": SERVER_KEY, **library_env(s3)}
    with Container(image, "python", "-m", "server", env=env, publish="127.0.0.1::8000",
                   extra=("--health-interval=2s", "--health-start-period=120s")) as container:
        url = f"http://127.0.0.1:{container.port(8000)}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if not container.state()["Running"]:
                pytest.fail(f"the server container stopped:\n{container.logs()[-3000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"the server container never answered /ping 200:\n{container.logs()[-3000:]}")
        container.url = url
        yield container
