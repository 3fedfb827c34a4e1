"""The HTTP protocol the server runs: uvicorn's httptools protocol with the two limits it lacks on
a request's head (its request line and headers). httptools keeps a head in memory however long
it grows, and uvicorn waits for it however slowly it arrives (its keep-alive timeout stops at the
first byte); here a head is refused past MAX_HEAD_BYTES (431), and a connection that sends no
complete head within the client timeout is closed (with a 408 once a request has begun). The app
(app.py) bounds the body in bytes and in time the same way. A complete head too large is answered
the way uvicorn answers past its concurrency limit: by a small ASGI app in the app's place.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# SageMaker's own headers are a few hundred bytes; Node.js refuses a head past 16 KiB too.
MAX_HEAD_BYTES = 16 * 1024
# Seconds a client has to send a request's head (from connecting, or from the head's first byte)
# and as long again for its body; the command line's --client-timeout hands it to the workers.
CLIENT_TIMEOUT_ENV = "SERVE_CLIENT_TIMEOUT"
DEFAULT_CLIENT_TIMEOUT = 10.0
REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def client_timeout() -> float:
    return float(os.environ.get(CLIENT_TIMEOUT_ENV) or DEFAULT_CLIENT_TIMEOUT)


async def head_too_large(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI app in the app's place for a request whose head is over MAX_HEAD_BYTES."""
    body = f"the request's head exceeds {MAX_HEAD_BYTES} bytes\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """One connection: uvicorn's protocol, with the head's size and time bounded."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timeout = client_timeout()
        self.reading_head, self.head_bytes, self.head_begun = True, 0, False
        self.head_timer: asyncio.TimerHandle | None = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # A chunk in which a new head begins is not counted (part of it may be the last body):
        # the head kept in memory is at most MAX_HEAD_BYTES and one chunk.
        counted = self.reading_head
        super().data_received(data)
        if self.reading_head and counted and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, f"the request's head exceeds {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head, self.head_bytes, self.head_begun = True, 0, True
        self.head_size = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self.head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self.head_size += len(name) + len(value) + 4  # ": " and the line's end

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self._disarm()
        if self.head_size <= MAX_HEAD_BYTES:
            super().on_headers_complete()
            return
        app, self.app = self.app, head_too_large
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _arm(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.head_begun or self.head_bytes:
            self._refuse(408, f"the request's head did not arrive within {self.head_timeout:g} s")
        else:  # an idle connection: nothing to answer
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request whose head is incomplete, and close the connection."""
        body = f"{message}\n".encode()
        head = (
            f"HTTP/1.1 {status} ".encode()
            + REASONS[status]
            + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        )
        self.transport.write(head + body)
        self.transport.close()
