"""Root fixtures. eventlet must patch before anything imports socket/threading, or container tests hang."""

import eventlet

eventlet.monkey_patch()

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")
