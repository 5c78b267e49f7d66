"""Server settings from the environment."""
import pytest

from common.errors import InvalidInput
from server import ServerSettings, load_server_settings


def test_defaults():
    assert load_server_settings({}) == ServerSettings()
    assert ServerSettings().host == "127.0.0.1" and ServerSettings().result_ttl_s == 1800


def test_environment_names():
    s = load_server_settings({"PORT": "9000", "HOST": "0.0.0.0", "SERVER_CONCURRENCY": "2",
                              "RUNPOD_API_KEY": "sekrit-key", "RESULT_TTL_S": "60", "WEBHOOK_RETRY_DELAY_S": "0.5",
                              "ALLOW_PRIVATE_WEBHOOKS": "1"})
    assert (s.port, s.host, s.concurrency, s.api_key, s.result_ttl_s) == (9000, "0.0.0.0", 2, "sekrit-key", 60.0)
    assert s.webhook_retry_delay_s == 0.5 and s.allow_private_webhooks
    assert load_server_settings({"SERVER_API_KEY": "a", "RUNPOD_API_KEY": "b"}).api_key == "a"
    assert "sekrit" not in repr(s)


def test_bad_values():
    with pytest.raises(InvalidInput):
        load_server_settings({"SERVER_CONCURRENCY": "0"})
    with pytest.raises(InvalidInput):
        load_server_settings({"PORT": "eighty"})
