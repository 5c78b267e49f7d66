"""Hostile audio_url servers: compression bombs, trickled headers, slow DNS and redirects, IPv6 forms of private IPv4."""
from __future__ import annotations

import socket
import threading
import time
import tracemalloc
import zlib

import brotli
import pytest

from common.errors import AudioInvalid, InvalidInput
from jobcore.fetch import fetch_audio, resolve_public

ZEROS = 400 << 20            # what the bombs inflate to: 400 MB
CAP = 1 << 20                # the fetch's byte limit in these tests


def _gzip(pieces) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([packer.compress(p) for p in pieces] + [packer.flush()])


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """Content-Encoding -> body; each inflates to 400 MB of zeros (the audit's 824 and 657 byte bombs)."""
    zeros = [b"\0" * (1 << 20)] * (ZEROS >> 20)
    packer = brotli.Compressor(quality=5)
    br = b"".join([packer.process(p) for p in zeros] + [packer.finish()])
    return {"gzip, gzip": _gzip([_gzip(zeros)]), "br": br, "gzip": _gzip(zeros), "deflate": zlib.compress(b"\0" * CAP * 8)}


class RawServer:
    """A loopback TCP server whose `answer(conn, request_head)` writes whatever bytes it likes, one thread per client."""

    def __init__(self, answer):
        self.answer, self.heads = answer, []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            self.heads.append(head.decode("latin-1"))
            try:
                self.answer(conn, head)
            except OSError:
                pass                                   # the client hung up: that is the point

    def close(self):
        self.sock.close()


@pytest.fixture
def serve():
    servers = []

    def start(answer) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _fetch_measured(url: str, **kwargs) -> tuple[Exception | bytes, int, float]:
    """(result or error, peak traced bytes, seconds) of one fetch."""
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        result = fetch_audio(url, CAP, allow_private=True, **kwargs)
    except AudioInvalid as exc:
        result = exc
    finally:
        elapsed = time.monotonic() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak, elapsed


@pytest.mark.parametrize("encoding", ["gzip, gzip", "br", "gzip", "deflate"])
def test_a_compression_bomb_is_refused_without_inflating_it(serve, bombs, encoding):
    body = bombs[encoding]

    def answer(conn, head):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Encoding: " + encoding.encode()
                     + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    server = serve(answer)
    result, peak, _ = _fetch_measured(server.url + "/bomb.wav")
    assert isinstance(result, AudioInvalid) and "Content-Encoding" in result.message
    assert peak < CAP + (4 << 20)                          # the cap plus a small constant, never the 400 MB
    assert "accept-encoding: identity" in server.heads[0].lower()


def test_an_uncompressed_body_past_the_cap_is_cut_at_the_cap(serve):
    def answer(conn, head):                                 # no Content-Length: the cap must stop the read itself
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(400):
            conn.sendall(b"\0" * (1 << 20))

    result, peak, _ = _fetch_measured(serve(answer).url + "/big.wav")
    assert isinstance(result, AudioInvalid) and "byte limit" in result.message
    assert peak < CAP + (4 << 20)


def test_a_plain_body_arrives_whole(serve):
    body = bytes(range(256)) * 1000

    def answer(conn, head):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    assert fetch_audio(serve(answer).url + "/ok.wav", CAP, allow_private=True) == body


def _trickle(prefix: bytes, every_s: float = 0.1, for_s: float = 6.0):
    def answer(conn, head):
        conn.sendall(prefix)
        end = time.monotonic() + for_s
        while time.monotonic() < end:                      # one byte at a time, well inside any per-read timeout
            time.sleep(every_s)
            conn.sendall(b"X")
    return answer


@pytest.mark.parametrize("prefix", [b"", b"HTTP/1.1 200 OK\r\nX-Slow: ",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"],
                         ids=["status-line", "headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(serve, prefix):
    result, _, elapsed = _fetch_measured(serve(_trickle(prefix)).url + "/slow.wav", timeout_s=1.0)
    assert isinstance(result, AudioInvalid) and "longer than" in result.message
    assert elapsed < 2.5                                   # 1 s deadline; the audit saw 12 s for a 3 s one


def test_the_deadline_spans_every_redirect_hop(serve):
    def answer(conn, head):                                # each hop is quick, the chain is not
        time.sleep(0.4)
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")

    result, _, elapsed = _fetch_measured(serve(answer).url + "/start", timeout_s=1.0)
    assert isinstance(result, AudioInvalid) and "longer than" in result.message
    assert elapsed < 2.0


def test_a_slow_dns_answer_counts_against_the_deadline(monkeypatch):
    real = socket.getaddrinfo

    def slow_dns(host, *args, **kwargs):
        if host == "slow.test":
            time.sleep(3)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    t0 = time.monotonic()
    with pytest.raises(AudioInvalid, match="longer than"):
        fetch_audio("http://slow.test:9/x.wav", CAP, timeout_s=0.5, allow_private=True)
    assert time.monotonic() - t0 < 1.5


def _answering(address: str):
    return lambda host, port, *a, **k: [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM,
                                         6, "", (address, port))]


@pytest.mark.parametrize("address", [
    "::7f00:1",                     # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",                  # IPv4-compatible 169.254.169.254
    "::ffff:7f00:1",                # IPv4-mapped 127.0.0.1
    "::ffff:0:a00:1",               # IPv4-translated 10.0.0.1
    "64:ff9b::a9fe:a9fe",           # NAT64 of the cloud metadata address
    "64:ff9b::7f00:1",              # NAT64 of loopback
    "64:ff9b::c0a8:1",              # NAT64 of 192.168.0.1
    "64:ff9b:1::a00:1",             # local-use NAT64 prefix
    "2002:7f00:1::",                # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",            # 6to4 of 169.254.169.254
    "2002:a00:1::",                 # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",   # Teredo, client 127.0.0.1
])
def test_ipv6_forms_of_private_ipv4_are_refused(monkeypatch, address):
    monkeypatch.setattr(socket, "getaddrinfo", _answering(address))
    with pytest.raises(InvalidInput, match="private"):
        resolve_public("https://cdn.example/x.wav")


@pytest.mark.parametrize("address", ["2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "8.8.8.8"])
def test_public_addresses_still_pass(monkeypatch, address):
    monkeypatch.setattr(socket, "getaddrinfo", _answering(address))
    assert resolve_public("https://cdn.example/x.wav") == address
