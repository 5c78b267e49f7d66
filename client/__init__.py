"""A Python client for RunPod-style TTS endpoints: this worker on RunPod, or the local server."""
from .api import TTSClient, TTSError, TTSHTTPError, TTSJobError, TTSRequestTimeout, TTSTimeout
from .document import DocumentResult, render_document
from .stitch import Pauses

__all__ = ["DocumentResult", "Pauses", "TTSClient", "TTSError", "TTSHTTPError", "TTSJobError", "TTSRequestTimeout",
           "TTSTimeout", "render_document"]
