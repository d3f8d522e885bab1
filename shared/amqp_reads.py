"""Buffered socket reads for a consuming py-amqp connection.

py-amqp reads every frame with exact-size ``recv()`` calls: two or three per frame, three frames per message,
so six to nine system calls — each one a trip through eventlet's green socket — for a 700-byte message. The
batch consumer takes thousands of messages a second off one connection, so it reads what the kernel has (up to
``CHUNK`` bytes) once and serves the frames from that buffer (ARCHITECTURE.md measured +5–15% from a larger
read buffer). Only the plain TCP transport is changed; TLS keeps py-amqp's own reads.
"""

from __future__ import annotations

import errno
import types
from typing import Any

from amqp.transport import TCPTransport

CHUNK = 65536
_RETRY = (errno.EAGAIN, errno.EINTR)


def _buffered_read(self: Any, n: int, initial: bool = False) -> bytes:
    """Drop-in for ``TCPTransport._read``: exactly ``n`` bytes, keeping the rest for the next call."""
    buffer: bytearray = self._cchc_buffer
    start: int = self._cchc_start
    if self._read_buffer:  # read_frame pushes a half-read frame back here when a read times out
        del buffer[:start]
        buffer[0:0] = self._read_buffer
        self._read_buffer = b""
        start = self._cchc_start = 0
    while len(buffer) - start < n:
        if start:
            del buffer[:start]
            start = self._cchc_start = 0
        try:
            chunk = self.sock.recv(CHUNK)
        except OSError as exc:  # socket.timeout included: the buffer keeps what was read, as py-amqp's does
            if exc.errno in _RETRY:
                if initial and self.raise_on_initial_eintr:
                    raise TimeoutError() from exc
                continue
            raise
        if not chunk:
            raise OSError("Server unexpectedly closed connection")
        buffer += chunk
    end = start + n
    self._cchc_start = end
    return bytes(buffer[start:end])


def _frame_buffered(transport: Any) -> bool:
    """Whether one whole frame (7-byte header, payload, end octet) is already in the buffer."""
    buffer: bytearray = transport._cchc_buffer
    start: int = transport._cchc_start
    available = len(buffer) - start
    if available < 8 or transport._read_buffer:
        return False
    size = int.from_bytes(buffer[start + 3:start + 7], "big")
    return available >= size + 8


def drain_buffered(connection: Any, limit: int) -> int:
    """Handle up to ``limit`` frames already read, with no system call and no socket time-out juggling.

    ``drain_events`` handles one frame per call and sets and restores the socket's time-out around each (a
    context manager and two ``settimeout`` calls, ~5% of the consumer's CPU); after it returns, the buffer usually
    holds dozens more frames, which this hands to py-amqp's own frame handler directly. Returns the frames handled.
    """
    amqp_connection = getattr(connection, "connection", None)
    transport = getattr(amqp_connection, "transport", None)
    if transport is None or not hasattr(transport, "_cchc_buffer"):
        return 0
    handled = 0
    while handled < limit and _frame_buffered(transport):
        amqp_connection.on_inbound_frame(transport.read_frame())
        handled += 1
    return handled


def buffer_reads(connection: Any) -> bool:
    """Switch a connected kombu (pyamqp) connection to buffered reads; False when it is not plain TCP."""
    transport = getattr(getattr(connection, "connection", None), "transport", None)
    if type(transport) is not TCPTransport:
        return False
    transport._cchc_buffer = bytearray(transport._read_buffer)
    transport._cchc_start = 0
    transport._read_buffer = b""
    transport._read = types.MethodType(_buffered_read, transport)
    return True
