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
from nameko.web.server import WebServer

from shared.messaging import amqp_uri, install_memory_transport_shims, is_memory_uri, transport_options


def container_config(config: Mapping[str, Any], index: int, http_base_port: int | None,
                     address: str | None = None) -> dict[str, Any]:
    """``http_base_port``: service ``index`` listens on base + index; 0 lets the system pick a free port for each
    (tests, so that several runs on one machine never collide); None keeps the config's address. ``address``
    pins this one service's listener (the demo's web application on 127.0.0.1:8080)."""
    cfg = copy.deepcopy(dict(config))
    cfg["TRANSPORT_OPTIONS"] = transport_options(cfg)
    if address is not None:
        cfg["WEB_SERVER_ADDRESS"] = address
    elif http_base_port is not None:
        cfg["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{http_base_port + index if http_base_port else 0}"
    return cfg


def http_port(container: ServiceContainer) -> int:
    """The port a started container's HTTP listener is bound to (useful when it was given port 0)."""
    for extension in container.subextensions:
        sock = getattr(extension, "_sock", None)
        if isinstance(extension, WebServer) and sock is not None:
            return int(sock.getsockname()[1])
    raise LookupError(f"{container.service_name} has no HTTP listener")


@contextlib.contextmanager
def running(
    service_classes: Sequence[type], config: Mapping[str, Any], http_base_port: int | None = 0,
    http_addresses: Mapping[str, str] | None = None,
) -> Iterator[list[ServiceContainer]]:
    """Start the services, yield their containers, stop them gracefully on exit (kill if stopping fails).

    Every container gets its own HTTP listener (one per service: two services sharing a listener answer each
    other's requests with 404); ``http_addresses`` pins some by service name."""
    if is_memory_uri(amqp_uri(config)):
        install_memory_transport_shims()
    pinned = http_addresses or {}
    containers = [
        ServiceContainer(cls, container_config(config, i, http_base_port, pinned.get(cls.name)))
        for i, cls in enumerate(service_classes)
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
