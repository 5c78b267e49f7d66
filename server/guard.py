"""What a browser may not do to the local server: rebound Host names, cross-site Origins, keyless docs, and
listening beyond loopback with no API key."""
from __future__ import annotations

import ipaddress
import json
import secrets
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond loopback without a key: any page on the network could then run jobs."""
    if api_key is None and not is_loopback(host):
        raise ValueError(f"HOST={host} would serve beyond this machine with no API key: set SERVER_API_KEY "
                         f"(clients then send it as `Authorization: Bearer <key>`), or listen on 127.0.0.1")


def key_matches(authorization: str, api_key: str) -> bool:
    """RunPod takes `Authorization: Bearer <key>` or the bare key."""
    given = authorization.strip()
    given = given[7:].strip() if given[:7].lower() == "bearer " else given
    return secrets.compare_digest(given.encode(), api_key.encode())


def host_name(value: str) -> str:
    """The name of a Host header or an Origin's netloc, without the port."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class BrowserGuard:
    """ASGI middleware. Without an API key the Host must name this machine (loopback, the configured HOST or
    ALLOWED_HOSTS: DNS rebinding is refused); with or without one, a request carrying a foreign Origin (a web
    page elsewhere) is refused; with a key, the docs and schema need it too."""

    def __init__(self, app, host: str, api_key: str | None, allowed_hosts: tuple[str, ...] = ()):
        self.app, self.api_key = app, api_key
        self.allowed = {h.lower() for h in allowed_hosts} | {host.lower()}
        self.any_host = "*" in self.allowed

    def allowed_host(self, name: str) -> bool:
        return self.any_host or is_loopback(name) or name in self.allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["path"], headers)
        if refusal is None:
            return await self.app(scope, receive, send)
        status, message = refusal
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, path: str, headers: dict[str, str]) -> tuple[int, str] | None:
        if self.api_key is None and not self.allowed_host(host_name(headers.get("host", ""))):
            return 403, "this Host is not served (add it to ALLOWED_HOSTS if a proxy forwards it)"
        origin = headers.get("origin")
        if origin is not None:
            netloc = urlsplit(origin).netloc if origin != "null" else ""
            if not netloc or not self.allowed_host(host_name(netloc)):
                return 403, ("requests from other web sites are refused (a page served from another host: add that "
                             "host to ALLOWED_HOSTS)")
        if self.api_key is not None and path.startswith(DOCS_PATHS) \
                and not key_matches(headers.get("authorization", ""), self.api_key):
            return 401, "missing or wrong API key"
        return None
