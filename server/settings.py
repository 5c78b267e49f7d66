"""Server settings: a pure function of the environment, like the worker's own settings."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from common.env import env_bool, env_first, env_float, env_int


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    health_port: int | None = None         # RunPod load balancing: PORT_HEALTH, where it probes GET /ping
    concurrency: int = 1                   # worker threads; later jobs wait IN_QUEUE
    workers: int = 1                       # worker processes, each with its own model (>1: concurrency = workers)
    api_key: str | None = None             # None = no authentication
    result_ttl_s: float = 1800.0           # finished jobs answer 404 after this
    runsync_wait_s: float = 90.0           # /runsync default wait (RunPod's), `?wait=ms` overrides
    max_runsync_wait_s: float = 300.0
    webhook_attempts: int = 3              # RunPod: the first try and 2 retries
    webhook_retry_delay_s: float = 10.0
    webhook_timeout_s: float = 10.0
    allow_private_webhooks: bool = False
    allowed_hosts: tuple[str, ...] = ()    # extra Host names served without a key (a reverse proxy's); "*" = any
    max_queued_jobs: int = 256             # /run beyond this answers 429
    max_retained_mb: float = 256.0         # finished jobs' outputs kept for /status; the oldest go first

    def __repr__(self) -> str:  # never show the key in logs
        fields = ", ".join(f"{k}={'***' if k == 'api_key' and v else v!r}" for k, v in self.__dict__.items())
        return f"ServerSettings({fields})"

    __str__ = __repr__


def load_server_settings(env: Mapping[str, str] | None = None) -> ServerSettings:
    """Build ServerSettings from PORT, HOST, SERVER_CONCURRENCY, WORKERS, RUNPOD_API_KEY/SERVER_API_KEY and friends."""
    env = os.environ if env is None else env
    d = ServerSettings()
    return ServerSettings(
        host=env.get("HOST") or ("0.0.0.0" if env.get("RUNPOD_POD_ID") else d.host),   # on RunPod: reachable
        port=env_int(env, "PORT", d.port, minimum=1),
        health_port=env_int(env, "PORT_HEALTH", 0, minimum=0) or None,
        concurrency=env_int(env, "SERVER_CONCURRENCY", d.concurrency, minimum=1),
        workers=env_int(env, "WORKERS", d.workers, minimum=1),
        api_key=env_first(env, "SERVER_API_KEY", "RUNPOD_API_KEY"),
        result_ttl_s=env_float(env, "RESULT_TTL_S", d.result_ttl_s),
        runsync_wait_s=env_float(env, "RUNSYNC_WAIT_S", d.runsync_wait_s),
        max_runsync_wait_s=env_float(env, "MAX_RUNSYNC_WAIT_S", d.max_runsync_wait_s, minimum=0),
        webhook_attempts=env_int(env, "WEBHOOK_ATTEMPTS", d.webhook_attempts, minimum=1),
        webhook_retry_delay_s=env_float(env, "WEBHOOK_RETRY_DELAY_S", d.webhook_retry_delay_s),
        webhook_timeout_s=env_float(env, "WEBHOOK_TIMEOUT_S", d.webhook_timeout_s),
        allow_private_webhooks=env_bool(env, "ALLOW_PRIVATE_WEBHOOKS", d.allow_private_webhooks),
        allowed_hosts=tuple(h.strip() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()),
        max_queued_jobs=env_int(env, "MAX_QUEUED_JOBS", d.max_queued_jobs, minimum=1),
        max_retained_mb=env_float(env, "MAX_RETAINED_MB", d.max_retained_mb, minimum=0),
    )
