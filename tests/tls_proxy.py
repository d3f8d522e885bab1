"""A TLS-terminating proxy in front of this machine's plain RabbitMQ or PostgreSQL, so the services' TLS
settings are exercised against a real handshake without reconfiguring the shared servers.

RabbitMQ speaks TLS from the first byte; PostgreSQL first sends an 8-byte SSLRequest in the clear and expects
``S`` before the handshake (the proxy answers it, then forwards the decrypted stream, which starts with the
ordinary StartupMessage the server expects on a plain connection). Certificates come from the openssl command.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_SSL_REQUEST = 80877103


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(folder: Path, name: str = "cchc test CA") -> Pki:
    """A throw-away CA and a server certificate for localhost / 127.0.0.1 signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name}")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return Pki(folder / "ca.crt", folder / "server.crt", folder / "server.key")


class TlsProxy:
    """Listens on 127.0.0.1:<port> with TLS and forwards each connection to ``upstream`` in the clear."""

    def __init__(self, upstream: tuple[str, int], pki: Pki, *, postgres: bool = False) -> None:
        self.upstream = upstream
        self.postgres = postgres
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki.cert, pki.key)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0  # completed TLS handshakes
        self.refused = 0  # handshakes the client broke off (e.g. it did not trust the certificate)
        self._closed = False
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def close(self) -> None:
        """Stop accepting and end every forwarded connection. A green thread blocked on a socket is not woken when
        the socket is closed (its hub registration would outlive the test and trip a later reader of the same file
        descriptor), so the accept loop is woken by one last connection and the pumps by a shutdown; then wait
        for all of them to end."""
        self._closed = True
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        with contextlib.suppress(OSError):
            self.listener.close()
        for sock in list(self._open):
            _shutdown(sock)
        for thread in list(self._threads):  # gone from the hub before anything reuses their descriptors
            thread.join(timeout=10)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._closed:
                client.close()
                return
            self._start(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        try:
            if self.postgres:
                request = client.recv(8, socket.MSG_WAITALL)
                if len(request) != 8 or struct.unpack("!II", request)[1] != PG_SSL_REQUEST:
                    client.close()  # a client that does not ask for TLS gets nothing
                    return
                client.sendall(b"S")
            tls = self.context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            self.refused += 1
            client.close()
            return
        self.handshakes += 1
        upstream = socket.create_connection(self.upstream)
        self._open.update((tls, upstream))
        self._start(self._pump, upstream, tls)
        self._pump(tls, upstream)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except (OSError, EOFError):  # eventlet raises EOFError when the other pump closed the socket
            pass
        finally:
            # Each pump closes only the socket it reads, once it has woken: a socket closed under a blocked green
            # reader never wakes it (it would stay registered with the hub). A shutdown wakes the other pump.
            _shutdown(target)
            self._open.discard(source)
            with contextlib.suppress(OSError):
                source.close()


def _shutdown(sock: socket.socket) -> None:
    """Wake whoever reads the socket (it reads EOF and closes it)."""
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)
