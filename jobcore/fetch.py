"""Download a user-supplied audio URL safely: public addresses only, bounded size and time, checked redirects."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import AudioInvalid, InvalidInput

MAX_REDIRECTS = 3


def check_public(url: str, allow_private: bool = False) -> None:
    """Refuse non-http(s) URLs and hosts that resolve to private, loopback, link-local or reserved addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("audio_url must be an http(s) URL")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"audio_url host {parts.hostname!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise InvalidInput("audio_url points at a private, loopback or link-local address",
                               hint="use a public URL (ALLOW_PRIVATE_URLS=1 lifts this for trusted setups)")


def fetch_audio(url: str, max_bytes: int, timeout_s: float = 20.0, allow_private: bool = False) -> bytes:
    """GET `url` (following up to 3 redirects, each checked) into memory, at most `max_bytes`."""
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url, allow_private)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise AudioInvalid(f"audio_url answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise AudioInvalid(f"audio_url is larger than the {max_bytes} byte limit")
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body += piece
                        if len(body) > max_bytes:
                            raise AudioInvalid(f"audio_url is larger than the {max_bytes} byte limit")
                    return bytes(body)
            except httpx.HTTPError as exc:
                raise AudioInvalid(f"audio_url could not be fetched: {type(exc).__name__}") from None
        raise AudioInvalid("audio_url redirected too many times")
