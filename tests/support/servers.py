"""Local servers for tests: the app on uvicorn in a background thread on a loopback port, a webhook receiver."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn

from client import TTSClient

API_KEY = "test-key-123"


@contextmanager
def serve(app):
    """Run `app` until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def wait_idle(client: TTSClient, timeout: float = 30) -> None:
    """Until no thread of the server is synthesizing (a cancelled chunk still finishes)."""
    deadline = time.monotonic() + timeout
    while client.health()["workers"]["running"]:
        assert time.monotonic() < deadline, "the server stayed busy"
        time.sleep(0.1)


class Receiver:
    """A webhook receiver on loopback: answers the queued status codes in turn (then 200), records bodies."""

    def __init__(self, codes: list[int]):
        self.codes, self.deliveries = list(codes), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.deliveries.append((time.monotonic(), json.loads(body)))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [body for _, body in self.deliveries]
