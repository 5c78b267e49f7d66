"""Object storage: one `Store` protocol, a local-directory and an S3 implementation, chosen by URI.

The floor above `common/`: the voice library, job delivery and the output cache all store through it."""
from .factory import open_store
from .store import AlreadyExists, Blob, Changed, NotFound, Store

__all__ = ["AlreadyExists", "Blob", "Changed", "NotFound", "Store", "open_store"]
