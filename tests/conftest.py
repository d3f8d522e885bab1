"""Root fixtures. eventlet must patch before anything imports socket/threading, or container tests hang."""

import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import pytest  # noqa: E402

from shared.config import load_config  # noqa: E402
from tests.support import PG_URL, pg_schema_prefix, rabbit_vhost  # noqa: E402


@pytest.fixture(params=["memory-sqlite", "rabbitmq-postgresql"])
def backend_config(request, tmp_path):
    """A config factory for both deployments: the zero-install one and the production-like one.

    Each test gets a fresh vhost / schema (or SQLite files), so tests never see each other's messages.
    """
    if request.param == "memory-sqlite":
        from kombu.transport import memory

        memory.Transport.global_state.clear()  # the in-process broker is global to the process
        memory.Channel.queues.clear()
        yield lambda **over: load_config(
            AMQP_URI="memory://", DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db", **over
        )
    else:
        request.applymarker(pytest.mark.integration)
        with rabbit_vhost() as uri, pg_schema_prefix() as schema:
            yield lambda **over: load_config(AMQP_URI=uri, DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema, **over)
