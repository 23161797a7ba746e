"""Real local receivers for channel tests: an HTTP server on loopback, a canary, an SMTP server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.processes import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every request; answers ``status`` (and ``Location: redirect_to`` when set)."""

    host: str
    port: int
    status: int = 204
    redirect_to: str = ""
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"


@contextlib.contextmanager
def http_receiver(host: str = "127.0.0.1", status: int = 204) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(host=host, port=0, status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(receiver.status)
            if receiver.redirect_to:
                self.send_header("Location", receiver.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Canary:
    """Listens on one port on 127.0.0.1 and ::1 and counts every connection it is offered."""

    port: int
    connections: int = 0


@contextlib.contextmanager
def canary() -> Iterator[Canary]:
    port = free_port()
    bird = Canary(port=port)
    sockets = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(16)
        sock.settimeout(0.2)
        sockets.append(sock)
    stop = threading.Event()

    def accept(sock: socket.socket) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            bird.connections += 1
            conn.close()

    threads = [threading.Thread(target=accept, args=(s,), daemon=True) for s in sockets]
    for thread in threads:
        thread.start()
    try:
        yield bird
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for sock in sockets:
            sock.close()


class _Collect:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        self.envelopes.append(envelope)
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server (aiosmtpd) on loopback: (port, the envelopes it accepted)."""
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler.envelopes
    finally:
        controller.stop()
