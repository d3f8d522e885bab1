"""TLS client settings shared by every broker connection: kombu takes ``AMQP_SSL`` as it is (nameko's key, a dict
of ``ssl.wrap_socket``-style options or ``true``); pika, which our publisher uses, needs an ``ssl.SSLContext``.
Building the context from the same setting keeps one TLS configuration for both."""

from __future__ import annotations

import ssl
from typing import Any

KNOWN_KEYS = {"ca_certs", "certfile", "keyfile", "cert_reqs", "server_hostname", "check_hostname"}


def client_context(setting: bool | dict[str, Any] | None) -> ssl.SSLContext | None:
    """The client context for ``AMQP_SSL``: None when TLS is off; the system's CAs for ``true``."""
    if not setting:
        return None
    if setting is True:
        return ssl.create_default_context()
    unknown = set(setting) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"AMQP_SSL: unknown option(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    context = ssl.create_default_context(cafile=setting.get("ca_certs"))
    cert_reqs = ssl.VerifyMode(int(setting.get("cert_reqs", ssl.CERT_REQUIRED)))
    context.check_hostname = bool(setting.get("check_hostname", cert_reqs == ssl.CERT_REQUIRED))
    context.verify_mode = cert_reqs
    if setting.get("certfile"):
        context.load_cert_chain(setting["certfile"], setting.get("keyfile"))
    return context
