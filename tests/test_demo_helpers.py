"""Shared by the demo tests: one demo server per test session, on a free port of 127.0.0.1.

(Named ``test_demo_*`` to live beside the demo tests; it holds no tests itself.)
"""

from __future__ import annotations

import atexit
import socket
import threading

SAMPLE = 40  # posts of the evaluation split in the Policy lab: keeps the tests fast

_server: dict = {}
_lock = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_server() -> tuple[object, str]:
    """(app, url) of a running demo; started once per process, closed at exit."""
    with _lock:
        if not _server:
            from demo.app import build_app, launch_kwargs

            app = build_app(sample=SAMPLE)
            app.services.detector()  # load the model before the first request
            app.queue(default_concurrency_limit=2)
            app.launch(**launch_kwargs("127.0.0.1", free_port()), prevent_thread_lock=True)
            _server.update(app=app, url=app.local_url)
            atexit.register(app.close)
        return _server["app"], _server["url"]
