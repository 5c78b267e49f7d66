"""Build-time tools: bake model weights into an image with a checked manifest, import voices into a library."""
from common.manifest import MANIFEST, verify_manifest, write_manifest

__all__ = ["MANIFEST", "verify_manifest", "write_manifest"]
