"""One S3 request sent to an address checked beforehand (the DNS answer pinned), through httpcore."""
from __future__ import annotations

import ssl
from urllib.parse import urlsplit, urlunsplit

import httpcore

MAX_RESPONSE_BYTES = 1024 * 1024     # S3 answers to what a pinned store does (PUT, HEAD, errors) are small


class ResponseTooLarge(Exception):
    """The far end answered with more than MAX_RESPONSE_BYTES."""


def send(method: str, url: str, headers: dict, body, address: str, timeout_s: float) -> tuple[int, dict, bytes]:
    """`method url` with `headers` and `body`, connected to `address` (the Host header and the TLS name stay the
    URL's host, so signatures and certificates check as usual). Returns (status, headers, body)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    target = urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)          # botocore may send it again on a retry
        body = data
    body = b"" if body is None else body if isinstance(body, bytes) else bytes(body, "utf-8") \
        if isinstance(body, str) else bytes(body)
    fields = {str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in headers.items()}
    fields = {k: v for k, v in fields.items() if k.lower() not in ("host", "content-length")}
    fields["Host"] = parts.netloc.rpartition("@")[2]
    fields["Content-Length"] = str(len(body))
    extensions: dict = {"timeout": {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}}
    if parts.scheme == "https":
        extensions["sni_hostname"] = parts.hostname
    with httpcore.ConnectionPool(ssl_context=ssl.create_default_context(), max_connections=1) as pool:
        with pool.stream(method, target, headers=list(fields.items()), content=body,
                         extensions=extensions) as response:
            received = bytearray()
            for piece in response.iter_stream():
                received += piece
                if len(received) > MAX_RESPONSE_BYTES:
                    raise ResponseTooLarge(f"more than {MAX_RESPONSE_BYTES} bytes")
            answer = {k.decode("latin-1"): v.decode("latin-1") for k, v in response.headers}
            return response.status, answer, bytes(received)
