"""Run several nameko services inside one process: the zero-install mode of the demo and of quick tests.

Each service gets its own container and config (its own HTTP port), so their @http entrypoints never
collide; on ``memory://`` the RPC content-type shim is installed and polling is made fast.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from shared.messaging import amqp_uri, install_memory_transport_shims, is_memory_uri, transport_options


def container_config(config: Mapping[str, Any], index: int, http_base_port: int | None) -> dict[str, Any]:
    """``http_base_port``: service ``index`` listens on base + index; 0 lets the system pick a free port for each
    (tests, so that several runs on one machine never collide); None keeps the config's address."""
    cfg = copy.deepcopy(dict(config))
    cfg["TRANSPORT_OPTIONS"] = transport_options(cfg)
    if http_base_port is not None:
        cfg["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{http_base_port + index if http_base_port else 0}"
    return cfg


@contextlib.contextmanager
def running(
    service_classes: Sequence[type], config: Mapping[str, Any], http_base_port: int | None = 0
) -> Iterator[list[ServiceContainer]]:
    """Start the services, yield their containers, stop them gracefully on exit (kill if stopping fails)."""
    if is_memory_uri(amqp_uri(config)):
        install_memory_transport_shims()
    containers = [
        ServiceContainer(cls, container_config(config, i, http_base_port)) for i, cls in enumerate(service_classes)
    ]
    started: list[ServiceContainer] = []
    try:
        for container in containers:
            container.start()
            started.append(container)
        yield containers
    finally:
        for container in reversed(started):
            try:
                container.stop()
            except Exception:
                container.kill()


@contextlib.contextmanager
def rpc_proxy(config: Mapping[str, Any], timeout: float = 30) -> Iterator[Any]:
    cfg = dict(config)
    cfg["TRANSPORT_OPTIONS"] = transport_options(cfg)
    with ClusterRpcProxy(cfg, timeout=timeout) as proxy:
        yield proxy
