"""Root fixtures. eventlet must patch before anything imports socket/threading, or container tests hang."""

import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import pytest  # noqa: E402
from kombu.mixins import ConsumerMixin  # noqa: E402

from shared.config import load_config  # noqa: E402
from tests.support import PG_URL, PINNED_TIMES, pg_schema_prefix, rabbit_vhost  # noqa: E402

#: How long a nameko consumer in this process waits on the broker before it looks at its stop flags again.
#: kombu's default is a second, and nameko's QueueConsumer needs two such turns to stop (one to cancel its
#: consumers, one to see that it should end): stopping a container took 2-3 s, the teardown of a service test
#: 6-8 s, a good part of the suite. Messages are still delivered the moment they arrive, whatever the wait.
CONSUMER_SAFETY_INTERVAL = 0.1
_consume = ConsumerMixin.consume


def _consume_checking_stop_often(self, limit=None, timeout=None, safety_interval=CONSUMER_SAFETY_INTERVAL, **kwargs):
    return _consume(self, limit=limit, timeout=timeout, safety_interval=safety_interval, **kwargs)


ConsumerMixin.consume = _consume_checking_stop_often


def pytest_addoption(parser):
    parser.addoption(
        "--pinned-times", default=None,
        help="comma-separated names from tests/support.py PINNED_TIMES, or 'all', for tests taking `pinned_now` "
             "(default: each test's @pytest.mark.pinned_times, else all)")


def pytest_generate_tests(metafunc):
    """``pinned_now``: the instant a test generates its stream for and runs the services' clock at."""
    if "pinned_now" not in metafunc.fixturenames:
        return
    option = metafunc.config.getoption("--pinned-times")
    marker = metafunc.definition.get_closest_marker("pinned_times")
    if option:
        names = list(PINNED_TIMES) if option == "all" else [n.strip() for n in option.split(",") if n.strip()]
    else:
        names = list(marker.args) if marker else list(PINNED_TIMES)
    unknown = [n for n in names if n not in PINNED_TIMES]
    if unknown:
        raise pytest.UsageError(f"--pinned-times: unknown {unknown}; known: {', '.join(PINNED_TIMES)}")
    # module scope: a module's stream (generated once per instant) may depend on it
    metafunc.parametrize("pinned_now", [PINNED_TIMES[n] for n in names], ids=names, scope="module")


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
