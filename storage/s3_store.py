"""A Store on S3-compatible object storage through boto3; the only module that imports boto3."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from common.errors import InvalidInput, StorageUnavailable

from .store import AlreadyExists, Blob, Changed, NotFound

log = logging.getLogger(__name__)

_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})
_AUTH = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken",
         "AuthorizationHeaderMalformed", "RequestTimeTooSkewed", "NoCredentialsError", "PartialCredentialsError",
         "403"}   # head_bucket answers a bare 403
_HINT_AUTH = "check the S3 credentials (BUCKET_ACCESS_KEY_ID / BUCKET_SECRET_ACCESS_KEY) and BUCKET_REGION"
_KEY_OPS = frozenset({"read", "delete", "head_bucket", "check"})  # a 404 means "no such key" (or bucket, for heads)
_HINT_BUCKET = ("create the bucket (aws s3 mb s3://{bucket} --endpoint-url {endpoint}), or start the worker with "
                "CREATE_BUCKET=1 to create it; or correct the bucket in VOICE_LIBRARY_URI / OUTPUT_BUCKET, or "
                "BUCKET_ENDPOINT_URL")
_HINT_OTHER = "check BUCKET_ENDPOINT_URL and that the S3 service is reachable, then retry"


def _disposition(filename: str) -> str:
    """`attachment; filename="..."` with an ASCII fallback and an RFC 5987 form for anything else."""
    safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    value = f'attachment; filename="{safe}"'
    return value if safe == filename else f"{value}; filename*=UTF-8''{quote(filename, safe='')}"


class _Raw:
    """A received body as botocore reads it (stream() for errors and small answers, read() for bodies)."""

    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def stream(self, *_args, **_kwargs):
        yield self.read()

    def read(self, amt: int | None = None) -> bytes:
        end = len(self.data) if amt is None else self.offset + amt
        piece, self.offset = self.data[self.offset:end], min(end, len(self.data))
        return piece

    def close(self) -> None:
        pass


def _send_pinned(request, pin: Callable[[str], str], timeout_s: float, **_) -> AWSResponse:
    """botocore's before-send hook: send the signed request ourselves, to the address `pin` allows."""
    import httpcore

    from .pinned import ResponseTooLarge, send

    address = pin(request.url)
    try:
        status, headers, body = send(request.method, request.url, dict(request.headers), request.body, address,
                                     timeout_s)
    except (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
            ResponseTooLarge):
        raise EndpointConnectionError(endpoint_url=urlsplit(request.url).hostname or "?") from None
    return AWSResponse(request.url, status, headers, _Raw(body))


class S3Store:
    """Objects under `s3://bucket/prefix`; ETags are returned without quotes."""

    def __init__(self, client, bucket: str, prefix: str = ""):
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, region: str = "us-east-1", connect_timeout: float = 3.0,
                 read_timeout: float = 10.0, max_attempts: int = 2,
                 pin: Callable[[str], str] | None = None) -> S3Store:
        """`pin`: given a request URL, the address to connect to (it may raise to refuse the host). With it every
        request goes to that address (the DNS answer checked is the one used), not to a fresh lookup."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
            raise InvalidInput("the voice library URI must look like s3://bucket/optional/prefix",
                               hint="credentials and the endpoint go in BUCKET_* settings, not in the URI")
        config = Config(
            s3={"addressing_style": "path"}, signature_version="s3v4", region_name=region,
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, region_name=region, config=config)
        if pin is not None:
            client.meta.events.register("before-send.s3", functools.partial(
                _send_pinned, pin=pin, timeout_s=max(connect_timeout, read_timeout)))
        return cls(client, parts.netloc, parts.path)

    @property
    def endpoint(self) -> str:
        return str(self._client.meta.endpoint_url)

    def _missing_bucket(self, op: str, key: str) -> StorageUnavailable:
        return StorageUnavailable(f"S3 {op} of {key} failed: NoSuchBucket: the bucket {self.bucket!r} does not exist "
                                  f"at {self.endpoint}", hint=_HINT_BUCKET.format(bucket=self.bucket, endpoint=self.endpoint))

    def in_bucket(self, bucket: str, prefix: str = "") -> S3Store:
        """The same client and credentials on another bucket (no I/O)."""
        return S3Store(self._client, bucket, prefix)

    def _full(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise InvalidInput(f"invalid storage key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _guard(self, op: str, key: str, ok: frozenset[str] = frozenset()):
        """Map botocore failures: codes in `ok` are swallowed, NotFound / AlreadyExists where they mean that,
        anything else StorageUnavailable (naming the op, the key and the S3 code; never credentials)."""
        try:
            yield
            return
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(exc.response.get("Error", {}).get("Code") or status or "UnknownError")
            if code in ok:
                return
            if code in _NOT_FOUND and op in _KEY_OPS:    # elsewhere a 404 means the bucket is missing
                raise NotFound(key) from None
            if code in _CONFLICT:
                raise AlreadyExists(key) from None
        except BotoCoreError as exc:
            code = type(exc).__name__
        if code == "NoSuchBucket" or code in _NOT_FOUND:      # a 404 outside key reads: the bucket is missing
            raise self._missing_bucket(op, key) from None
        hint = _HINT_AUTH if code in _AUTH else _HINT_OTHER
        message = f"S3 {op} of {key} failed: {code}"
        log.debug("%s (store %s)", message, self.uri)
        raise StorageUnavailable(message, hint=f"{hint} (store {self.uri})") from None

    def read(self, key: str) -> Blob:
        with self._guard("read", key):
            resp = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
            data = resp["Body"].read()
        return Blob(data, resp["ETag"].strip('"'))

    def read_if_changed(self, key: str, etag: str) -> Blob | None:
        full, resp = self._full(key), None
        with self._guard("read", key, ok=frozenset({"304"})):  # Not Modified is a ClientError with code "304"
            resp = self._client.get_object(Bucket=self.bucket, Key=full, IfNoneMatch=f'"{etag.strip(chr(34))}"')
            data = resp["Body"].read()
        return None if resp is None else Blob(data, resp["ETag"].strip('"'))

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream",
              if_absent: bool = False, filename: str | None = None, if_match: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self._full(key), "Body": data, "ContentType": content_type}
        if filename:
            params["ContentDisposition"] = _disposition(filename)
        if if_absent:
            params["IfNoneMatch"] = "*"
        if if_match is not None:
            params["IfMatch"] = f'"{if_match}"'
        try:
            with self._guard("write", key):
                resp = self._client.put_object(**params)
        except (AlreadyExists, NotFound):
            if if_match is None:
                raise
            raise Changed(key) from None
        return resp["ETag"].strip('"')

    def delete(self, key: str, if_match: str | None = None) -> None:
        if if_match is not None:
            # not every S3 server honours If-Match on DELETE: compare first, then ask the server to compare too
            try:
                current = self.read(key).etag
            except NotFound:
                raise Changed(key) from None
            if current != if_match:
                raise Changed(key)
        params = {} if if_match is None else {"IfMatch": f'"{if_match}"'}
        try:
            with self._guard("delete", key, ok=_NOT_FOUND):  # deleting a missing key is not an error
                self._client.delete_object(Bucket=self.bucket, Key=self._full(key), **params)
        except AlreadyExists:
            raise Changed(key) from None

    def list(self, prefix: str) -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        with self._guard("list", prefix or "/"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                keys.extend(obj["Key"][len(base):] for obj in page.get("Contents", []))
        return sorted(keys)

    def presign(self, key: str, expires_s: int) -> str | None:
        with self._guard("presign", key):
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._full(key)}, ExpiresIn=int(expires_s))

    def check_bucket(self, create: bool = False) -> None:
        """At start-up: the bucket is there (made when `create`, CREATE_BUCKET=1), or StorageUnavailable
        naming the bucket, the endpoint and the fix."""
        try:
            with self._guard("check", self.bucket):
                self._client.head_bucket(Bucket=self.bucket)
            return
        except NotFound:
            if not create:
                raise self._missing_bucket("check", f"s3://{self.bucket}") from None
        log.info("creating the bucket %r at %s (CREATE_BUCKET=1)", self.bucket, self.endpoint)
        self.ensure_bucket()

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (tests and `make` tooling)."""
        try:
            with self._guard("head_bucket", self.bucket):
                self._client.head_bucket(Bucket=self.bucket)
            return
        except NotFound:
            pass
        region = self._client.meta.region_name
        params = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        with self._guard("create_bucket", self.bucket, ok=frozenset({"BucketAlreadyOwnedByYou"})):
            self._client.create_bucket(Bucket=self.bucket, **params)
