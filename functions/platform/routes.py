"""Service-level routes: a health check for deployment smoke tests and uptime monitors."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from functions.shared import clock
from functions.shared.http import json_response, route

blueprint = Blueprint(__name__)


@route(blueprint, "/health")
def health() -> Any:
    """Answers without touching AWS, so it measures the function, not its dependencies."""
    return json_response({"status": "ok", "service": "aftercare", "time": clock.isoformat(clock.now())})
