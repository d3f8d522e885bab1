"""/health, /ready and /metrics for every service: one mixin, so each service class just inherits it; and the
HTTP entrypoint every service uses (``shared.ops.http``), on a web server hardened for the open network.

Only one HTTP listener may exist per process (two nameko services with @http in one process answer each
other's requests with 404), so the in-process demo gives each service its own WEB_SERVER_ADDRESS.

nameko's own web server keeps a connection that stopped sending open forever (a few hundred half-open
connections exhaust the process), answers an unexpected exception with a 500 whose body is the exception's
text, and logs every request line with its query string (download links carry credentials). Ours:

* closes a connection that sends nothing for ``WEB_SERVER_SOCKET_TIMEOUT`` seconds (while reading a request or
  waiting on a kept-alive connection);
* answers an unexpected exception with a bare 500 (the worker logs the exception; the client learns nothing);
* writes request lines to the access log with every query value replaced by ``***``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Callable
from typing import Any

from eventlet import wsgi
from nameko.exceptions import BadRequest as NamekoBadRequest
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WsgiApp
from nameko.web.server import WebServer as NamekoWebServer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from shared.config import setting
from shared.heap import FrozenStartupHeap
from shared.messaging import connect, harden_rpc_responder

access_log = logging.getLogger("nameko.web.server")
log = logging.getLogger(__name__)


def redact_request_line(line: str) -> str:
    """``GET /documents/7?expires=1&signature=ab HTTP/1.1`` -> ``GET /documents/7?expires=***&signature=*** HTTP/1.1``:
    names stay (what was asked for), values go (tokens, signatures, and whatever a form may carry)."""
    method, _, rest = line.partition(" ")
    target, _, version = rest.rpartition(" ") if " " in rest else (rest, "", "")
    path, question, query = target.partition("?")
    if not question:
        return line
    redacted = "".join(part if part in ("", "&", ";") else (part.partition("=")[0] + "=***" if "=" in part else "***")
                       for part in re.split(r"([&;])", query))
    return f"{method} {path}?{redacted}" + (f" {version}" if version else "")


class _RedactingProtocol(HttpOnlyProtocol):
    def parse_request(self) -> bool:
        ok = super().parse_request()
        self.requestline = redact_request_line(getattr(self, "requestline", ""))  # what the access log prints
        return ok


class _WsgiApp(WsgiApp):
    """nameko's WSGI app, but an HTTP error raised before any entrypoint runs (a method no route takes: 405, an
    unknown path) is answered by the server's ``error_page`` when a service set one — the web application's
    Vietnamese page instead of Werkzeug's English one. Other services keep Werkzeug's answer."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = exc
            render = self.server.error_page
            if render is not None:
                try:
                    response = render(exc)
                except Exception:  # the error page must not fail in turn: Werkzeug's answer then
                    log.exception("error page for %s failed", exc.code)
        return response(environ, start_response)


class WebServer(NamekoWebServer):
    """nameko's web server with a socket time-out and an access log without query values."""

    # set by a service's dependency (services/web/service.py) to render the errors raised before its code runs
    error_page: Callable[[HTTPException], Response] | None = None

    def get_wsgi_app(self) -> Any:
        return _WsgiApp(self)

    @property
    def sharing_key(self) -> type:
        # One listener per container whichever decorator an entrypoint used (tests/unit/test_service_modules.py
        # checks that every service uses shared.ops.http, so this one is the listener).
        return NamekoWebServer

    def get_wsgi_server(self, sock: Any, wsgi_app: Any, protocol: Any = _RedactingProtocol,
                        debug: bool = False) -> Any:
        timeout = float(setting(self.container.config, "WEB_SERVER_SOCKET_TIMEOUT"))
        if timeout <= 0:
            raise ValueError(f"WEB_SERVER_SOCKET_TIMEOUT: {timeout} must be above 0 seconds")
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # No Nagle (Linux hands the option on to accepted connections): eventlet sends the headers, then a body
            # over its 16 KiB buffer as a second segment that Nagle holds until the client's delayed ACK — 40 ms
            # added to every page over 16 KiB on a kept-alive connection (bench/web_pages.py, issue 15).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=False, log=access_log,
                           socket_timeout=timeout)


class HttpEntrypoint(HttpRequestHandler):
    """nameko's ``@http``, on :class:`WebServer`, with no exception text in a 5xx answer."""

    server = WebServer()

    def response_from_exception(self, exc: Exception) -> Response:
        expected = self.expected_exceptions  # a class or a tuple of them, as nameko allows
        if isinstance(exc, (*(expected if isinstance(expected, tuple) else (expected,)), NamekoBadRequest)):
            return super().response_from_exception(exc)  # 400: the caller's own mistake, named
        return _json(500, {"error": "internal error"})


http = HttpEntrypoint.decorator


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def broker_reachable(config: dict[str, Any]) -> None:
    with connect(config, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1)


class HardenedRpcResponder(DependencyProvider):
    """Installs :func:`shared.messaging.harden_rpc_responder` before the service's RPC entrypoints consume."""

    def setup(self) -> None:
        harden_rpc_responder()


class QueuesConsumed(DependencyProvider):
    """Whether every queue consumer of this service consumes yet: nameko starts the web server beside the other
    entrypoints, so /ready answered before the RPC queue was declared and bound — a call made then (a fresh replica,
    the only one) came back unroutable (``NO_ROUTE``). The consumer's own readiness event is the truth."""

    def get_dependency(self, worker_ctx: Any) -> Callable[[], None]:
        container = self.container

        def consuming() -> None:
            waiting = [ext for ext in container.extensions
                       if isinstance(ext, QueueConsumer) and not ext._consumers_ready.ready()]
            if waiting:
                raise RuntimeError(f"{len(waiting)} queue consumer(s) not consuming yet")

        return consuming


class OpsEndpoints:
    """Mixin for a nameko service class that has ``db`` (DatabaseProvider) and ``config`` (Config): health,
    readiness and metrics, the frozen start-up heap, and an RPC responder no request can crash."""

    name: str
    db: Any
    config: Any
    heap = FrozenStartupHeap()
    rpc_responder = HardenedRpcResponder()
    queues_consumed = QueuesConsumed()

    @http("GET", "/health")
    def health(self, request: Any) -> Response:
        """Alive: the process answers. Kubernetes restarts the pod when this fails."""
        return _json(200, {"status": "ok", "service": self.name})

    @http("GET", "/ready")
    def ready(self, request: Any) -> Response:
        """Ready: database and broker reachable, the service's queues consumed; traffic is withheld while this
        fails."""
        checks: dict[str, str] = {}
        for name, probe in (("database", self.db.ping), ("broker", lambda: broker_reachable(self.config)),
                            ("queues", self.queues_consumed)):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # a probe reports, it never raises
                checks[name] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return _json(200 if ok else 503, {"status": "ready" if ok else "not ready", "checks": checks})

    @http("GET", "/metrics")
    def metrics(self, request: Any) -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
