"""Every service's HTTP listener (shared/ops.py) over a real socket, as an attacker or a careless client sees it:
a connection that stops sending is closed after WEB_SERVER_SOCKET_TIMEOUT; an id beyond any document's is a 404,
not a 500; no 5xx answer carries an exception's text; and the access log never shows a query's values (download
links carry signatures, and ``?token=`` once carried the document's credential)."""

from __future__ import annotations

import logging
import socket

import pytest

from cchc.runner import running
from services.reports import store
from services.reports.service import ReportsService
from shared.config import load_config
from tests.support import http_get


@pytest.fixture
def reports_http(tmp_path):
    """The reports service alone (memory transport, SQLite), with a one-second socket time-out."""
    from kombu.transport import memory

    memory.Transport.global_state.clear()
    memory.Channel.queues.clear()
    config = load_config(AMQP_URI="memory://", DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                         WEB_SERVER_SOCKET_TIMEOUT=1)
    with running([ReportsService], config) as [container]:
        server = next(ext for ext in container.extensions if type(ext).__name__ == "WebServer")
        host, port = server._sock.getsockname()[:2]  # bound to port 0: the system chose a free one
        yield f"http://{host}:{port}", (host, port)


def closed_by_the_server(sock: socket.socket, deadline: float = 20.0) -> bool:
    """True once the server closes the connection (recv returns b""), False if it still holds it at the deadline."""
    sock.settimeout(deadline)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_half_open_and_idle_connections_are_closed_after_the_socket_timeout(reports_http) -> None:
    base, address = reports_http
    silent = socket.create_connection(address)  # connects, never says anything
    partial = socket.create_connection(address)
    partial.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a request whose end never comes
    idle = socket.create_connection(address)  # one answered request, then kept alive and silent
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        assert closed_by_the_server(silent) and closed_by_the_server(partial)
        idle.settimeout(10)
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_by_the_server(idle)
    finally:
        for sock in (silent, partial, idle):
            sock.close()
    assert http_get(base + "/health")[0] == 200  # the listener itself is unharmed


def test_an_id_out_of_range_is_404_and_no_5xx_carries_exception_text(reports_http, monkeypatch) -> None:
    base, _ = reports_http
    for path in ("/documents/99999999999999999999", "/documents/2147483648", "/documents/-1"):
        status, body = http_get(base + path, {"Authorization": "Bearer x"})
        assert status == 404, (path, status, body[:200])
        assert b"Error" not in body and b"Traceback" not in body
    assert http_get(base + "/documents/2147483647", {"Authorization": "Bearer x"})[0] == 404  # the last id: no row

    def broken(*args, **kwargs):
        raise RuntimeError("connection to 10.0.0.5 failed for applicant 0912345678")

    monkeypatch.setattr(store, "file_for_download", broken)
    status, body = http_get(base + "/documents/1", {"Authorization": "Bearer x"})
    assert status == 500
    assert b"0912345678" not in body and b"RuntimeError" not in body and b"10.0.0.5" not in body
    assert body == b'{"error": "internal error"}'


def test_the_access_log_shows_no_query_values(reports_http, caplog) -> None:
    base, _ = reports_http
    secrets = ("tok3n-very-secret", "51gnature0123", "Nguy%E1%BB%85n")
    with caplog.at_level(logging.INFO, logger="nameko.web.server"):
        http_get(base + f"/documents/1?token={secrets[0]}")
        http_get(base + f"/documents/1?expires=9999999999&signature={secrets[1]}")
        http_get(base + f"/health?q={secrets[2]}&plain")
    lines = [record.getMessage() for record in caplog.records if record.name == "nameko.web.server"]
    assert len([line for line in lines if '"GET ' in line]) == 3, lines
    assert not [line for line in lines if any(secret in line for secret in secrets)], lines
    assert any('"GET /documents/1?expires=***&signature=*** HTTP/1.1" 404' in line for line in lines), lines
    assert any('"GET /health?q=***&*** HTTP/1.1" 200' in line for line in lines), lines
