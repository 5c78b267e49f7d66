"""Download a user-supplied audio URL safely: public addresses only (DNS answer pinned), bounded size and time."""
from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

from common.errors import AudioInvalid, InvalidInput

MAX_REDIRECTS = 3


def resolve_public(url: str, allow_private: bool = False, field: str = "audio_url",
                   setting: str = "ALLOW_PRIVATE_URLS") -> str:
    """The address to connect to for `url`; refuses hosts with any private, loopback, link-local or reserved answer.
    Errors name the job `field` the URL came from and the `setting` that lifts the check."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{field} must be an http(s) URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise InvalidInput(f"{field} host {parts.hostname[:100]!r} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not allow_private and any(not a.is_global or a.is_multicast for a in addresses):
        raise InvalidInput(f"{field} points at a private, loopback or link-local address",
                           hint=f"use a public URL ({setting}=1 lifts this for trusted setups)")
    return str(addresses[0])


def check_public(url: str, allow_private: bool = False, field: str = "audio_url",
                 setting: str = "ALLOW_PRIVATE_URLS") -> None:
    """Raise InvalidInput unless `url` is http(s) and resolves to public addresses only."""
    resolve_public(url, allow_private, field, setting)


def pinned_request(url: str, address: str) -> tuple[str, dict, dict]:
    """The request URL aimed at the checked address, with the original Host header and TLS server name."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc.rpartition("@")[2]}, extensions


def fetch_audio(url: str, max_bytes: int, timeout_s: float = 20.0, allow_private: bool = False) -> bytes:
    """GET `url` into memory (at most `max_bytes`), following up to 3 redirects, each hop checked and pinned."""
    import httpx   # only jobs with an audio_url need it; its import (click, rich) stays off the start-up path

    deadline = time.monotonic() + timeout_s          # whole download, not per read: no slow trickle
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target, headers, extensions = pinned_request(url, resolve_public(url, allow_private))
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as response:
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
                        if time.monotonic() > deadline:
                            raise AudioInvalid(f"audio_url took longer than {timeout_s:.0f} s")
                    return bytes(body)
            except httpx.HTTPError as exc:
                raise AudioInvalid(f"audio_url could not be fetched: {type(exc).__name__}") from None
        raise AudioInvalid("audio_url redirected too many times")
