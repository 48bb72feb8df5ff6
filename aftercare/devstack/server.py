"""Serve the Chalice app on 127.0.0.1 like API Gateway would, with JSON 404s for unknown routes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    ThreadedHTTPServer,
)

from functions.shared.http import unknown_route
from functions.shared.observability import logger


class AftercareGateway(LocalGateway):
    """API Gateway stand-in whose unknown-route answer matches the production gateway response."""

    def handle_request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        try:
            self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            return unknown_route(method, path)
        return super().handle_request(method, path, headers, body)


class RequestLog:
    """One line per request in the terminal: method, path (no query: it may hold a token), status, ms.

    Quiet for static noise (``/favicon.ico``) unless ``verbose``. ``changed`` is called for every request
    that may change something (any method but GET and HEAD), so the stack knows to save.
    """

    QUIET = ("/favicon.ico",)

    def __init__(self) -> None:
        self.enabled = False
        self.verbose = False
        self.changed: Callable[[], None] | None = None

    def line(self, method: str, path: str, status: int, seconds: float) -> str:
        return f"{method:<6} {path.split('?', 1)[0][:120]} {status} {seconds * 1000:.0f} ms"

    def record(self, method: str, path: str, status: int, seconds: float) -> None:
        if method not in {"GET", "HEAD"} and self.changed is not None:
            self.changed()
        if not self.enabled or (path.split("?", 1)[0] in self.QUIET and not self.verbose):
            return
        sys.stdout.write(self.line(method, path, status, seconds) + "\n")
        sys.stdout.flush()


request_log = RequestLog()


class AftercareRequestHandler(ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        self.local_gateway = AftercareGateway(app_object, config)
        self._status = 0
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers every method; so does the stand-in (Chalice gives unrouted ones a JSON 405).
        if name.startswith("do_"):
            return self._logged_handle
        raise AttributeError(name)

    def _logged_handle(self) -> None:
        started = time.perf_counter()
        try:
            self._generic_handle()
        finally:
            request_log.record(self.command, self.path, self._status, time.perf_counter() - started)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _logged_handle

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def log_message(self, format: str, *args: Any) -> None:  # signature of the base class
        logger.debug("http " + format % args)


def thread_safe(app: Any) -> Any:
    """Give the app a thread-local ``current_request``, as ``chalice local`` does, so concurrent requests
    in one process never see each other's request. Idempotent."""
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return app


class BurstTolerantServer(ThreadedHTTPServer):
    """Chalice's threaded server with API Gateway's patience for bursts.

    ``HTTPServer`` listens with a backlog of 5; a platform's burst of webhooks (16 at once in
    ``tests/e2e/test_parallel_webhooks.py``) on a busy machine overflowed it and connections were reset.
    """

    request_queue_size = 256


def create_server(app: Any, host: str, port: int) -> LocalDevServer:
    config = Config.create(
        chalice_stage="local", app_name="aftercare", lambda_timeout=30, lambda_memory_size=256
    )
    return LocalDevServer(
        thread_safe(app),
        config,
        host,
        port,
        handler_cls=AftercareRequestHandler,
        server_cls=BurstTolerantServer,
    )
