"""Real servers for notification tests: an SMTP server (aiosmtpd) and an HTTP server (SMS gateway, webhooks)
that record what they received, can be down, refuse, fail or redirect on purpose. The SMTP server can speak
implicit TLS or STARTTLS with a certificate from ``tests.tls_proxy.make_pki`` and accept logins, recording each
AUTH attempt and whether it arrived over TLS.

aiosmtpd runs asyncio in a thread. Under eventlet's monkey-patching a "thread" would be a green thread and the
asyncio loop would block the hub, so its controller is given the real ``threading`` module
(``eventlet.patcher.original``): the server runs in an OS thread, and the code under test talks to it over a
real socket. The HTTP server is plain ``http.server`` in a green thread.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

import aiosmtpd.controller
import eventlet.patcher
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port
from tests.tls_proxy import Pki

aiosmtpd.controller.threading = eventlet.patcher.original("threading")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass(frozen=True)
class Login:
    username: str
    over_tls: bool


class SmtpSink:
    """A real SMTP server on ``port``; ``refuse`` lists recipients answered with 550 at RCPT time.

    ``pki``: the server's certificate; with ``implicit_tls`` TLS from the first byte (port 465 style), otherwise
    STARTTLS is offered and required before MAIL. ``accounts`` (username → password): AUTH is advertised even on
    a plain connection (as a careless server would), and every attempt is recorded in ``logins``.
    """

    def __init__(self, port: int | None = None, refuse: tuple[str, ...] = (), *, pki: Pki | None = None,
                 implicit_tls: bool = False, accounts: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.refuse = set(refuse)
        self.pki = pki
        self.implicit_tls = implicit_tls
        self.accounts = accounts
        self.messages: list[Received] = []
        self.refused: list[str] = []
        self.logins: list[Login] = []
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = data.login.decode("utf-8", "replace")
        self.logins.append(Login(username, server.transport.get_extra_info("ssl_object") is not None))
        ok = (self.accounts or {}).get(username) == data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            self.refused.append(address)
            return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        options: dict[str, Any] = {}
        if self.pki is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.pki.cert, self.pki.key)
            if self.implicit_tls:
                options["ssl_context"] = context
            else:
                options.update(tls_context=context, require_starttls=True)
        if self.accounts is not None:
            options.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.messages if address in r.rcpt_tos]


@dataclass
class Request:
    path: str
    headers: Message  # case-insensitive, as header names are
    body: bytes
    method: str = "POST"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """Records every request; ``status[path]`` is the status to answer (200 by default), ``redirect[path]`` a URL
    to send the client to with a 302 instead."""

    requests: list[Request] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    redirect: dict[str, str] = field(default_factory=dict)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


@contextlib.contextmanager
def http_recorder() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorder.requests.append(Request(self.path, self.headers, body, self.command))
            if self.path in recorder.redirect:
                self.send_response(302)
                self.send_header("Location", recorder.redirect[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = recorder.status.get(self.path, 200)
            payload = b'{"ok": true}' if status < 400 else b'{"error": "gateway failure"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST  # a client that follows a redirect the way browsers do arrives with a GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
