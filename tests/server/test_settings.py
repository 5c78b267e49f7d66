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


def test_every_server_setting_can_be_set_from_the_environment():
    """Each field of ServerSettings has an environment name that changes it."""
    env = {"HOST": "0.0.0.0", "PORT": "9001", "SERVER_CONCURRENCY": "3", "SERVER_API_KEY": "k",
           "RESULT_TTL_S": "61", "RUNSYNC_WAIT_S": "5", "MAX_RUNSYNC_WAIT_S": "42", "WEBHOOK_ATTEMPTS": "5",
           "WEBHOOK_RETRY_DELAY_S": "0.25", "WEBHOOK_TIMEOUT_S": "7", "ALLOW_PRIVATE_WEBHOOKS": "true",
           "PORT_HEALTH": "9002", "ALLOWED_HOSTS": "tts.internal, proxy", "MAX_QUEUED_JOBS": "9",
           "MAX_RETAINED_MB": "12", "WORKERS": "2"}
    changed, default = load_server_settings(env), ServerSettings()
    unchanged = [name for name in default.__dataclass_fields__ if getattr(changed, name) == getattr(default, name)]
    assert unchanged == []
    assert (changed.max_runsync_wait_s, changed.webhook_attempts) == (42.0, 5)
    with pytest.raises(InvalidInput):
        load_server_settings({"WEBHOOK_ATTEMPTS": "0"})
