"""Store fixtures: a fresh bucket per test on the session SeaweedFS server, `store` over both kinds.

Imported by the conftest of each test package that needs them (tests/storage, tests/voice_library)."""
from __future__ import annotations

import uuid

import pytest

from storage.local_store import LocalDirStore
from storage.s3_store import S3Store


@pytest.fixture
def s3_store_at(seaweed):
    """A factory `(prefix, **from_uri options) -> S3Store`, all on one fresh bucket of this test."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"

    def make(prefix: str = "lib", **options) -> S3Store:
        options = {"endpoint_url": seaweed.endpoint_url, "access_key_id": seaweed.access_key,
                   "secret_access_key": seaweed.secret_key, **options}
        return S3Store.from_uri(f"s3://{bucket}/{prefix}", **options)

    make().ensure_bucket()
    return make


@pytest.fixture
def s3_store(s3_store_at) -> S3Store:
    return s3_store_at("lib")


@pytest.fixture
def local_store_at(tmp_path):
    return lambda prefix="lib": LocalDirStore(tmp_path / prefix)


@pytest.fixture
def local_store(local_store_at) -> LocalDirStore:
    return local_store_at("lib")


@pytest.fixture(params=["local", "s3"])
def store_at(request):
    """`store_at(prefix)`: a store of the parametrized kind on the same backing (directory or bucket)."""
    return request.getfixturevalue(f"{request.param}_store_at")


@pytest.fixture
def store(store_at):
    return store_at("lib")
