"""Finished synthesis results kept in storage, keyed by everything that decides their bytes."""
from .base import CachedOutput, OutputCache
from .key import EmbeddingDigests, cacheable, output_key
from .store import StoreOutputCache

__all__ = ["CachedOutput", "EmbeddingDigests", "OutputCache", "StoreOutputCache", "cacheable", "output_key"]
