"""Output buckets: URL delivery into storage of its own (OUTPUT_BUCKET, RunPod's BUCKET_*, a job's s3Config)."""
from __future__ import annotations

import functools
import ipaddress
import logging
import re
import time
from urllib.parse import urlsplit

from common.errors import InvalidInput, JobError, StorageUnavailable
from storage import Store, open_store

from ..settings import Settings
from .base import Sink
from .store import StoreSink

log = logging.getLogger(__name__)

MONTH_BUCKET = "%m-%y"   # runpod's rp_upload uploads into a bucket named after the month when none is named
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


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
        settings: Settings, pinned: bool = False):
    """One boto3 client per distinct bucket and credentials (clients are slow to build and thread-safe).
    `pinned`: a job's endpoint; every request goes to an address that the address rule allows (jobcore.fetch)."""
    pin = functools.partial(_endpoint_address, allow_private=settings.allow_private_endpoints,
                            timeout_s=settings.s3_connect_timeout_s) if pinned else None
    return open_store(uri, endpoint_url=endpoint_url, access_key_id=access_key_id, secret_access_key=secret,
                      region=region,
                      connect_timeout=settings.s3_connect_timeout_s, read_timeout=settings.s3_read_timeout_s,
                      max_attempts=settings.s3_max_attempts, pin=pin)


def _endpoint_address(url: str, allow_private: bool, timeout_s: float) -> str:
    """The checked address of a job's S3 endpoint: audio_url's and webhooks' rule (no private, loopback,
    link-local or reserved answer, IPv6 forms of them included), lifted by ALLOW_PRIVATE_ENDPOINTS."""
    from ..fetch import resolve_public  # httpcore: only for jobs that bring an s3Config

    try:
        return resolve_public(url, allow_private, field="s3Config.endpointUrl", setting="ALLOW_PRIVATE_ENDPOINTS",
                              timeout_s=timeout_s)
    except TimeoutError:
        raise InvalidInput("s3Config.endpointUrl host took too long to resolve") from None


def check_bucket_name(name: str) -> str:
    """S3's bucket naming rules: 3-63 of a-z, 0-9, '.', '-', a letter or digit at each end, no '..', not an IP
    address, none of the reserved prefixes and suffixes."""
    ok = (_BUCKET_NAME.match(name) is not None and ".." not in name and not name.startswith(_BUCKET_PREFIXES)
          and not name.endswith(_BUCKET_SUFFIXES))
    try:
        ipaddress.ip_address(name)
        ok = False
    except ValueError:
        pass
    if not ok:
        raise InvalidInput(f"{name[:80]!r} is not a valid S3 bucket name",
                           hint="3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit")
    return name


def _bucket_uri(bucket: str) -> str:
    uri = bucket if bucket.startswith("s3://") else f"s3://{bucket}"
    parts = urlsplit(uri)
    if not parts.netloc:
        raise InvalidInput("the output bucket must be a bucket name or s3://bucket/prefix")
    check_bucket_name(parts.netloc)
    prefix = parts.path.strip("/")
    if prefix and any(p in ("", ".", "..") or "\\" in p or not p.isprintable() for p in prefix.split("/")):
        raise InvalidInput(f"the output bucket's prefix {prefix[:80]!r} is not a plain path",
                           hint="use s3://bucket/some/prefix without '.', '..' or empty parts")
    if parts.query or parts.fragment:
        raise InvalidInput("the output bucket must be a bucket name or s3://bucket/prefix")
    return uri


class JobBucketSink:
    """A job's own bucket (s3Config): a failed upload says only that it failed, never what the far end answered
    (whether a port is closed, refuses, or has no such bucket: that would make the worker a scanner)."""

    def __init__(self, inner: BucketSink, bucket: str | None):
        self.inner, self.bucket = inner, bucket

    def deliver(self, data: bytes, name: str, content_type: str, job_id: str) -> dict:
        try:
            return self.inner.deliver(data, name, content_type, job_id)
        except InvalidInput:
            raise                        # our own checks (names, the address rule)
        except JobError as exc:
            log.info("job %s: upload to its s3Config bucket failed: %s", job_id, exc.message)
            where = f"bucket {self.bucket!r}" if self.bucket else "the month bucket"
            raise StorageUnavailable("the upload to the job's s3Config storage failed",
                                     hint=f"check s3Config: endpointUrl, {where}, accessId and accessSecret") from None

    def link(self, store: Store, key: str) -> dict | None:
        return self.inner.link(store, key)


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
    _endpoint_address(endpoint, settings.allow_private_endpoints, settings.s3_connect_timeout_s)   # refused early
    region = region_of(endpoint, settings.s3_region)
    if bucket:
        sink = BucketSink(_s3(_bucket_uri(bucket), endpoint, access, secret, region, settings, pinned=True),
                          settings.output_url_expiry_s)
    else:
        sink = BucketSink(_s3("s3://placeholder", endpoint, access, secret, region, settings, pinned=True),
                          settings.output_url_expiry_s, month_bucket=True)
    return JobBucketSink(sink, bucket)
