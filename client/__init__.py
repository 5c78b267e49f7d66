"""A Python client for RunPod-style TTS endpoints: this worker on RunPod, or the local server."""
from .api import TTSClient, TTSError, TTSHTTPError, TTSJobError, TTSTimeout

__all__ = ["TTSClient", "TTSError", "TTSHTTPError", "TTSJobError", "TTSTimeout"]
