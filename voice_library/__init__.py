"""The voice library: voices as data in object storage (storage/: S3 or a directory) behind an in-memory cache."""
from .cache import ByteLRU
from .library import VoiceLibrary, VoiceMeta

__all__ = ["ByteLRU", "VoiceLibrary", "VoiceMeta"]
