"""Buffered reads (shared/amqp_reads.py) give py-amqp exactly the bytes its own reads would, over a real socket
pair, including when a read times out half-way through a frame and read_frame pushes the part back."""

from __future__ import annotations

import socket
import struct

import pytest
from amqp.transport import TCPTransport

from shared.amqp_reads import _buffered_read, drain_buffered


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    transport = TCPTransport.__new__(TCPTransport)  # no broker: wire the parts read_frame uses by hand
    transport.sock = ours
    transport._read_buffer = b""
    transport._cchc_buffer = bytearray()
    transport._cchc_start = 0
    transport.raise_on_initial_eintr = True
    transport.connected = True
    transport._read = _buffered_read.__get__(transport)
    yield transport, theirs
    ours.close()
    theirs.close()


def test_frames_come_out_whole_and_in_order(pair):
    transport, peer = pair
    sent = [(1, 1, b"method-%d" % i) for i in range(200)]
    frames = [frame(1, 1, b"method-199"), frame(2, 1, b"h" * 20), frame(3, 1, "nội dung ".encode() * 199)]
    peer.sendall(b"".join(frame(*f) for f in sent) + b"".join(frames))
    got = [transport.read_frame() for _ in range(len(sent) + 3)]
    assert got[: len(sent)] == sent
    assert [g[2] for g in got[len(sent):]] == [b"method-199", b"h" * 20, "nội dung ".encode() * 199]


def test_a_timeout_mid_frame_loses_nothing(pair):
    transport, peer = pair
    whole = frame(3, 2, b"x" * 5000)
    peer.sendall(whole[:3000])
    transport.sock.settimeout(0.05)
    with pytest.raises(socket.timeout):
        transport.read_frame()
    peer.sendall(whole[3000:] + frame(1, 2, b"next"))
    assert transport.read_frame() == (3, 2, b"x" * 5000)
    assert transport.read_frame() == (1, 2, b"next")


def test_a_closed_peer_is_an_error(pair):
    transport, peer = pair
    peer.sendall(frame(1, 1, b"abc")[:5])
    peer.close()
    with pytest.raises(OSError, match="closed"):
        transport.read_frame()


def test_drain_buffered_hands_only_whole_frames_to_the_handler(pair):
    transport, peer = pair
    handled = []

    class Connection:  # what drain_buffered uses of a kombu connection: .connection.transport / on_inbound_frame
        pass

    amqp_connection = Connection()
    amqp_connection.transport = transport
    amqp_connection.on_inbound_frame = handled.append
    kombu_connection = Connection()
    kombu_connection.connection = amqp_connection
    whole = [frame(1, 1, b"m%d" % i) for i in range(10)]
    partial = frame(3, 1, b"y" * 100)
    peer.sendall(b"".join(whole) + partial[:50])
    assert transport.read_frame() == (1, 1, b"m0")  # the first read fills the buffer, as drain_events does
    assert drain_buffered(kombu_connection, 4) == 4
    assert drain_buffered(kombu_connection, 100) == 5
    assert drain_buffered(kombu_connection, 100) == 0  # half a frame stays for the next socket read
    assert [f[2] for f in handled] == [b"m%d" % i for i in range(1, 10)]
    peer.sendall(partial[50:])
    assert transport.read_frame() == (3, 1, b"y" * 100)
