"""The voice library: voices as data in object storage (S3 or a directory) behind an in-memory cache."""
from .cache import ByteLRU
from .library import DamagedVoice, VoiceLibrary, VoiceMeta
from .store import AlreadyExists, Blob, NotFound, Store, open_store

__all__ = ["AlreadyExists", "Blob", "ByteLRU", "DamagedVoice", "NotFound", "Store", "VoiceLibrary", "VoiceMeta", "open_store"]
