"""`nameko run services.<name>.service` must find exactly one service class in each module (a mixin with
entrypoints imported by name would be picked up too, and nameko then refuses to start)."""

from pathlib import Path

import pytest
from nameko.cli.run import import_service


@pytest.mark.parametrize("name", ["dossiers", "scoring", "reports", "notifications", "intake", "web"])
def test_each_service_module_holds_one_service(name):
    [service] = import_service(f"services.{name}.service")
    assert service.name == name


SERVICES_WITH_A_MODULE = sorted(p.parent.name for p in (Path(__file__).resolve().parents[2] / "services").glob(
    "*/service.py"))


@pytest.mark.parametrize("name", SERVICES_WITH_A_MODULE)
def test_every_http_entrypoint_uses_the_hardened_web_server(name):
    """One listener per container: an entrypoint made with nameko's own ``@http`` could become the listener and
    bring back endless half-open connections, exception text in 500s and query values in the access log."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
    from nameko.web.handlers import HttpRequestHandler

    from shared.ops import HttpEntrypoint

    [service] = import_service(f"services.{name}.service")
    handlers = [ext for attr in dir(service) for ext in getattr(getattr(service, attr), ENTRYPOINT_EXTENSIONS_ATTR, ())
                if isinstance(ext, HttpRequestHandler)]
    assert len(handlers) >= 3  # /health, /ready, /metrics at least
    assert [h.url for h in handlers if not isinstance(h, HttpEntrypoint)] == [], "use shared.ops.http"
