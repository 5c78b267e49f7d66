"""Store fixtures for these tests: a directory and a SeaweedFS bucket (tests/support/stores.py)."""
from tests.support.stores import local_store, local_store_at, s3_store, s3_store_at, store, store_at  # noqa: F401
