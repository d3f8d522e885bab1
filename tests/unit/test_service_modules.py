"""`nameko run services.<name>.service` must find exactly one service class in each module (a mixin with
entrypoints imported by name would be picked up too, and nameko then refuses to start)."""

import pytest
from nameko.cli.run import import_service


@pytest.mark.parametrize("name", ["dossiers", "scoring", "reports", "notifications", "intake", "web"])
def test_each_service_module_holds_one_service(name):
    [service] = import_service(f"services.{name}.service")
    assert service.name == name
