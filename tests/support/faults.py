"""A loopback TCP proxy for fault injection: pass traffic, refuse it, or hold it (a stalled network)."""
from __future__ import annotations

import socket
import threading


class FaultyProxy:
    """Forwards 127.0.0.1:<port> to a target port. `mode`: "pass", "refuse" (close at once) or "stall"."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.mode = "pass"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: str) -> None:
        """Switch mode; existing connections are cut so the change takes effect at once."""
        self.mode = mode
        if mode != "pass":
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR) if mode == "refuse" else None
                except OSError:
                    pass

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "refuse":
                client.close()
            elif self.mode == "stall":
                self._open.append(client)            # accepted, never answered
            else:
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                except OSError:
                    client.close()
                    continue
                self._open += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._closed.is_set():
                if self.mode == "stall":
                    self._closed.wait(0.05)
                    continue
                data = source.recv(65_536)
                if not data or self.mode != "pass":
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._open:
            try:
                sock.close()
            except OSError:
                pass
