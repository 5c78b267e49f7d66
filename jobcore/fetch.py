"""Download a user-supplied audio URL safely: public addresses only (DNS answer pinned), bounded size and time."""
from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore

from common.errors import AudioInvalid, InvalidInput

MAX_REDIRECTS = 3
_NAT64 = ipaddress.ip_network("64:ff9b::/96")          # well-known NAT64 prefix: the last 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): reaches anything on site
_IPV4_IN_LOW_BITS = (ipaddress.ip_network("::/96"),            # IPv4-compatible (deprecated)
                     ipaddress.ip_network("::ffff:0:0/96"),    # IPv4-mapped
                     ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
                     _NAT64)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4, Teredo)."""
    out = []
    if any(address in net for net in _IPV4_IN_LOW_BITS):
        out.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    if address.sixtofour is not None:
        out.append(address.sixtofour)
    if address.teredo is not None:
        out.extend(address.teredo)
    return out


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast, and so is every IPv4 address embedded in it (an IPv6 form can reach private IPv4)."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        return all(v4.is_global and not v4.is_multicast for v4 in _embedded_ipv4(address))
    return True


def _getaddrinfo(host: str, port: int, timeout_s: float | None) -> list:
    """socket.getaddrinfo, given up on after `timeout_s` (the lookup cannot be interrupted; its thread is left to end)."""
    if timeout_s is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: dict = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name="dns-lookup", daemon=True).start()
    if not done.wait(max(0.0, timeout_s)):
        raise TimeoutError(f"DNS lookup took longer than {timeout_s:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


def resolve_public(url: str, allow_private: bool = False, field: str = "audio_url",
                   setting: str = "ALLOW_PRIVATE_URLS", timeout_s: float | None = None) -> str:
    """The address to connect to for `url`; refuses hosts with any private, loopback, link-local or reserved answer
    (IPv6 forms embedding such an IPv4 address included). Errors name the job `field` the URL came from and the
    `setting` that lifts the check; a lookup slower than `timeout_s` raises TimeoutError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{field} must be an http(s) URL")
    try:
        infos = _getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), timeout_s)
    except (socket.gaierror, UnicodeError, ValueError):
        raise InvalidInput(f"{field} host {parts.hostname[:100]!r} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not allow_private and not all(is_public(a) for a in addresses):
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


class _Deadline:
    """Seconds left until one fixed moment; every socket operation of a fetch gets at most that long."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self, timeout: float | None = None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("deadline passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline (the socket is closed then)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline):
        self.inner, self.deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, self.deadline.left(timeout)),
                               self.deadline)

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Plain TCP connections (no proxies, no environment) bounded by one deadline, connect included."""

    def __init__(self, deadline: _Deadline):
        self.deadline, self.inner = deadline, httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self.inner.connect_tcp(host, port, self.deadline.left(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self.deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(0.0, self.deadline.at - time.monotonic())))


def fetch_audio(url: str, max_bytes: int, timeout_s: float = 20.0, allow_private: bool = False) -> bytes:
    """GET `url` into memory (at most `max_bytes`), following up to 3 redirects, each hop checked and pinned.

    One deadline covers the whole fetch: DNS, connect, TLS, headers and body of every hop. The body is read raw
    (`Accept-Encoding: identity`; a compressed answer is refused), so memory stays within `max_bytes` plus a read.
    """
    deadline = _Deadline(timeout_s)
    too_slow = AudioInvalid(f"audio_url took longer than {timeout_s:g} s")
    with httpcore.ConnectionPool(ssl_context=ssl.create_default_context(), max_connections=1,
                                 network_backend=_DeadlineBackend(deadline)) as pool:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                address = resolve_public(url, allow_private, timeout_s=deadline.left())
            except (TimeoutError, httpcore.TimeoutException):
                raise too_slow from None
            target, headers, extensions = pinned_request(url, address)
            headers |= {"Accept-Encoding": "identity", "User-Agent": "tts-worker"}
            extensions["timeout"] = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
            try:
                with pool.stream("GET", target, headers=list(headers.items()), extensions=extensions) as response:
                    fields = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
                    if response.status in (301, 302, 303, 307, 308) and "location" in fields:
                        url = urljoin(url, fields["location"])
                        continue
                    if response.status != 200:
                        raise AudioInvalid(f"audio_url answered HTTP {response.status}")
                    encoding = fields.get("content-encoding", "identity").strip().lower()
                    if encoding not in ("", "identity"):
                        raise AudioInvalid(f"audio_url answered with Content-Encoding {encoding[:40]!r}",
                                           hint="serve the audio file as is (uncompressed transfer)")
                    declared = fields.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise AudioInvalid(f"audio_url is larger than the {max_bytes} byte limit")
                    body = bytearray()
                    for piece in response.iter_stream():
                        body += piece
                        if len(body) > max_bytes:
                            raise AudioInvalid(f"audio_url is larger than the {max_bytes} byte limit")
                    return bytes(body)
            except httpcore.TimeoutException:
                raise too_slow from None
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
                raise AudioInvalid(f"audio_url could not be fetched: {type(exc).__name__}") from None
        raise AudioInvalid("audio_url redirected too many times")
