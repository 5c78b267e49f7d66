"""Output buckets: URL delivery into storage of its own (OUTPUT_BUCKET, RunPod's BUCKET_*, a job's s3Config)."""
from __future__ import annotations

import functools
import time
from urllib.parse import urlsplit

from common.errors import InvalidInput
from storage import Store, open_store

from ..settings import Settings
from .base import Sink
from .store import StoreSink

MONTH_BUCKET = "%m-%y"   # runpod's rp_upload uploads into a bucket named after the month when none is named


class BucketSink:
    """StoreSink into `store`'s bucket, or into RunPod's month bucket (e.g. "12-26") when no bucket was named."""

    def __init__(self, store, expiry_s: int, month_bucket: bool = False):
        self.store, self.expiry_s, self.month_bucket = store, expiry_s, month_bucket

    def deliver(self, data: bytes, name: str, content_type: str, job_id: str) -> dict:
        store = self.store.in_bucket(time.strftime(MONTH_BUCKET)) if self.month_bucket else self.store
        return StoreSink(store, self.expiry_s).deliver(data, name, content_type, job_id)

    def link(self, store: Store, key: str) -> dict | None:
        """A presigned URL when the object is in this very bucket (never in a month bucket: made per upload)."""
        return None if self.month_bucket else StoreSink(self.store, self.expiry_s).link(store, key)


def region_of(endpoint_url: str, default: str) -> str:
    """The region inside an AWS-style endpoint (`...s3.<region>.amazonaws.com`), as rp_upload reads it for a
    job's s3Config (the worker's own BUCKET_* settings use BUCKET_REGION)."""
    host = urlsplit(endpoint_url).netloc
    return host.split(".s3.")[1].split(".")[0] if ".s3." in host else default


@functools.lru_cache(maxsize=16)
def _s3(uri: str, endpoint_url: str | None, access_key_id: str | None, secret: str | None, region: str,
        settings: Settings):
    """One boto3 client per distinct bucket and credentials (clients are slow to build and thread-safe)."""
    return open_store(uri, endpoint_url=endpoint_url, access_key_id=access_key_id, secret_access_key=secret,
                      region=region,
                      connect_timeout=settings.s3_connect_timeout_s, read_timeout=settings.s3_read_timeout_s,
                      max_attempts=settings.s3_max_attempts)


def _bucket_uri(bucket: str) -> str:
    uri = bucket if bucket.startswith("s3://") else f"s3://{bucket}"
    if not urlsplit(uri).netloc:
        raise InvalidInput("the output bucket must be a bucket name or s3://bucket/prefix")
    return uri


def url_sink(settings: Settings, library_store: Store) -> Sink | None:
    """Where URL outputs go: OUTPUT_BUCKET; else an S3 voice library; else RunPod's BUCKET_* convention
    (BUCKET_ENDPOINT_URL and keys: the month bucket at that endpoint, as rp_upload does); else nowhere."""
    creds = (settings.s3_endpoint_url, settings.s3_access_key_id, settings.s3_secret_access_key, settings.s3_region)
    if settings.output_bucket:
        return BucketSink(_s3(_bucket_uri(settings.output_bucket), *creds, settings), settings.output_url_expiry_s)
    library_sink = StoreSink.for_store(library_store, settings.output_url_expiry_s)
    if library_sink is not None:
        return library_sink
    if all(creds[:3]):
        return BucketSink(_s3("s3://placeholder", *creds, settings), settings.output_url_expiry_s, month_bucket=True)
    return None


def job_sink(s3_config, settings: Settings) -> Sink:
    """RunPod's per-job `s3Config` ({accessId, accessSecret, bucketName, endpointUrl}) as a URL sink.
    The secret never appears in errors or logs."""
    fields = s3_config if isinstance(s3_config, dict) else {}
    endpoint, access, secret = fields.get("endpointUrl"), fields.get("accessId"), fields.get("accessSecret")
    bucket = fields.get("bucketName")
    if not all(isinstance(v, str) and v for v in (endpoint, access, secret)) or not isinstance(bucket, (str, type(None))):
        raise InvalidInput("s3Config needs accessId, accessSecret and endpointUrl (strings), and may name bucketName",
                           hint="RunPod's form: {\"accessId\", \"accessSecret\", \"bucketName\", \"endpointUrl\"}")
    endpoint, access, secret = str(endpoint), str(access), str(secret)     # checked above: non-empty strings
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidInput("s3Config.endpointUrl must be an http(s) URL")
    region = region_of(endpoint, settings.s3_region)
    if bucket:
        return BucketSink(_s3(_bucket_uri(bucket), endpoint, access, secret, region, settings),
                          settings.output_url_expiry_s)
    return BucketSink(_s3("s3://placeholder", endpoint, access, secret, region, settings), settings.output_url_expiry_s,
                      month_bucket=True)
