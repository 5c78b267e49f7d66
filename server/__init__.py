"""A local HTTP server with RunPod's endpoint API and OpenAI's speech API over the same job core."""
from .app import create_app
from .settings import ServerSettings, load_server_settings

__all__ = ["ServerSettings", "create_app", "load_server_settings"]
