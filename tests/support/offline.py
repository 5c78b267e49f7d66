"""A guard for the slow-tier loaders: any TCP/UDP connection, or a named hub download function, fails the test."""
from __future__ import annotations

import contextlib
import socket

import pytest


@contextlib.contextmanager
def offline(module, download: str):
    """Inside the block, network connections and `module.<download>` raise AssertionError."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network access during load: {address}")
        return real_connect(self, address)

    def no_hub(*args, **kwargs):
        raise AssertionError(f"{download} called: {args} {kwargs}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(module, download, no_hub)
        yield
