"""Worker settings: a pure function of the environment, no heavy imports, so it is testable anywhere."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from common.env import env_bool, env_first, env_float, env_int
from common.errors import InvalidInput
from common.formats import DEFAULT_FORMAT


@dataclass(frozen=True)
class Settings:
    backend: str = "kokoro"
    model_dir: str | None = None              # baked weights; None = the backend's bundled default
    device: str = "auto"
    threads: int = 0                          # 0 = all cores
    voice_library_uri: str = ".voices"        # a directory, or s3://bucket/prefix
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    s3_connect_timeout_s: float = 3.0
    s3_read_timeout_s: float = 10.0
    s3_max_attempts: int = 2
    create_bucket: bool = False               # CREATE_BUCKET=1: make the library's bucket at start-up if missing
    create_lock_ttl_s: float = 60.0           # a voices.create lock older than this is from a dead worker
    cache_bytes: int = 256 * 1024 * 1024
    cache_ttl_s: float = 60.0
    default_voice: str | None = None          # None = the backend's own default
    default_format: str = DEFAULT_FORMAT
    max_text_chars: int = 20_000
    sentence_pause_s: float = 0.2
    output_url_expiry_s: int = 3600
    output_auto_url_bytes: int = 8 * 1024 * 1024   # base64 results above this go to storage as a URL
    warmup: bool = True
    max_audio_bytes: int = 20 * 1024 * 1024          # uploaded or downloaded reference clips
    max_reference_s: float = 30.0                    # longer clips are cut to their best window
    allow_private_urls: bool = False                 # audio_url may not reach private/loopback hosts
    allow_private_endpoints: bool = False            # a job's s3Config.endpointUrl may not either
    url_timeout_s: float = 20.0
    streaming: bool = True                           # RunPod runs the generator handler: outputs are lists
    output_bucket: str | None = None                 # URL outputs go here (bucket or s3://bucket/prefix)
    voice_aliases: tuple[tuple[str, str], ...] = ()   # extra name -> voice pairs (OpenAI names default per backend)
    output_cache: bool | None = None                 # None = on when the library is on S3
    output_cache_ttl_s: float = 7 * 24 * 3600.0      # cached results older than this are synthesized again
    max_batch_items: int = 64
    max_batch_chars: int = 100_000                   # a batch's items together, in spoken characters

    @property
    def output_cache_on(self) -> bool:
        return self.voice_library_uri.startswith("s3://") if self.output_cache is None else self.output_cache

    def __repr__(self) -> str:  # never show secrets in logs
        hidden = {"s3_access_key_id", "s3_secret_access_key"}
        fields = ", ".join(f"{k}={'***' if k in hidden and v else v!r}" for k, v in self.__dict__.items())
        return f"Settings({fields})"

    __str__ = __repr__


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables (RunPod's BUCKET_* names and the AWS ones both work)."""
    env = os.environ if env is None else env
    d = Settings()
    return Settings(
        backend=env.get("TTS_BACKEND", d.backend).strip().lower(),
        model_dir=env.get("MODEL_DIR") or None,
        device=env.get("DEVICE", d.device),
        threads=env_int(env, "TTS_THREADS", d.threads),
        voice_library_uri=env.get("VOICE_LIBRARY_URI") or d.voice_library_uri,
        create_bucket=env_bool(env, "CREATE_BUCKET", d.create_bucket),
        s3_endpoint_url=env_first(env, "BUCKET_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        s3_access_key_id=env_first(env, "BUCKET_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        s3_secret_access_key=env_first(env, "BUCKET_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        s3_region=env_first(env, "BUCKET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") or d.s3_region,
        s3_connect_timeout_s=env_float(env, "S3_CONNECT_TIMEOUT_S", d.s3_connect_timeout_s),
        s3_read_timeout_s=env_float(env, "S3_READ_TIMEOUT_S", d.s3_read_timeout_s),
        s3_max_attempts=env_int(env, "S3_MAX_ATTEMPTS", d.s3_max_attempts, minimum=1),
        create_lock_ttl_s=env_float(env, "VOICE_CREATE_LOCK_TTL_S", d.create_lock_ttl_s),
        cache_bytes=env_int(env, "VOICE_CACHE_BYTES", d.cache_bytes),
        cache_ttl_s=env_float(env, "VOICE_CACHE_TTL_S", d.cache_ttl_s),
        default_voice=env.get("DEFAULT_VOICE") or None,
        default_format=env.get("DEFAULT_FORMAT", d.default_format),
        max_text_chars=env_int(env, "MAX_TEXT_CHARS", d.max_text_chars, minimum=1),
        sentence_pause_s=env_float(env, "SENTENCE_PAUSE_S", d.sentence_pause_s),
        output_url_expiry_s=env_int(env, "OUTPUT_URL_EXPIRY_S", d.output_url_expiry_s, minimum=1),
        output_auto_url_bytes=env_int(env, "OUTPUT_AUTO_URL_BYTES", d.output_auto_url_bytes, minimum=1),
        warmup=env_bool(env, "WARMUP", d.warmup),
        max_audio_bytes=env_int(env, "MAX_AUDIO_BYTES", d.max_audio_bytes, minimum=1),
        max_reference_s=env_float(env, "MAX_REFERENCE_S", d.max_reference_s),
        allow_private_urls=env_bool(env, "ALLOW_PRIVATE_URLS", d.allow_private_urls),
        allow_private_endpoints=env_bool(env, "ALLOW_PRIVATE_ENDPOINTS", d.allow_private_endpoints),
        url_timeout_s=env_float(env, "URL_TIMEOUT_S", d.url_timeout_s),
        streaming=env_bool(env, "STREAMING", d.streaming),
        output_bucket=env.get("OUTPUT_BUCKET") or None,
        voice_aliases=parse_aliases(env.get("VOICE_ALIASES", "")),
        output_cache=env_bool(env, "OUTPUT_CACHE", False) if (env.get("OUTPUT_CACHE") or "").strip() else None,
        output_cache_ttl_s=env_float(env, "OUTPUT_CACHE_TTL_S", d.output_cache_ttl_s, minimum=0.0),
        max_batch_items=env_int(env, "MAX_BATCH_ITEMS", d.max_batch_items, minimum=1),
        max_batch_chars=env_int(env, "MAX_BATCH_CHARS", d.max_batch_chars, minimum=1),
    )


def parse_aliases(raw: str) -> tuple[tuple[str, str], ...]:
    """`alloy=jf_alpha, echo=jm_kumo` -> (("alloy", "jf_alpha"), ("echo", "jm_kumo")); names are case-insensitive."""
    pairs = []
    for item in filter(None, (i.strip() for i in raw.split(","))):
        alias, sep, voice = (x.strip() for x in item.partition("="))
        if not sep or not alias or not voice:
            raise InvalidInput(f"setting VOICE_ALIASES: {item[:60]!r} is not alias=voice",
                               hint="e.g. VOICE_ALIASES=alloy=jf_alpha,echo=jm_kumo")
        pairs.append((alias.lower(), voice))
    return tuple(pairs)
