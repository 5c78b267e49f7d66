"""The URI that picks a store: `s3://bucket/prefix` or a directory."""
from __future__ import annotations

from .store import Store


def open_store(uri: str, check_bucket: bool = False, create_bucket: bool = False, **options) -> Store:
    """`s3://bucket/prefix` -> S3Store; a path or `file://path` -> LocalDirStore. `check_bucket` (start-up):
    a missing bucket fails now, naming the bucket, the endpoint and the fix, or is made with `create_bucket`."""
    if uri.startswith("s3://"):
        from .s3_store import S3Store  # boto3 only when S3 is used

        store = S3Store.from_uri(uri, **options)
        if check_bucket or create_bucket:
            store.check_bucket(create_bucket)
        return store
    from .local_store import LocalDirStore

    return LocalDirStore(uri.removeprefix("file://"))
