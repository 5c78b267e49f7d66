"""The URI that picks a store: `s3://bucket/prefix` or a directory."""
from __future__ import annotations

from .store import Store


def open_store(uri: str, **options) -> Store:
    """`s3://bucket/prefix` -> S3Store; a path or `file://path` -> LocalDirStore."""
    if uri.startswith("s3://"):
        from .s3_store import S3Store  # boto3 only when S3 is used

        return S3Store.from_uri(uri, **options)
    from .local_store import LocalDirStore

    return LocalDirStore(uri.removeprefix("file://"))
