"""Powertools Logger, Metrics and Tracer, wired once for every Lambda entry point.

Logger and Metrics are cheap and created at import. The Tracer (X-Ray SDK) is expensive to import,
so it is only created inside Lambda when tracing is enabled, on first invocation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "aftercare")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Aftercare"), service=SERVICE)

_state: dict[str, Any] = {"cold_start": True, "tracer": None}


def _tracing_enabled() -> bool:
    in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true"}
    return in_lambda and not disabled


def _ensure_tracer() -> None:
    if _state["tracer"] is None and _tracing_enabled():
        from aws_lambda_powertools import Tracer

        _state["tracer"] = Tracer(service=SERVICE)  # patches boto3 so AWS calls show in X-Ray


def correlation_id_for(event: Any) -> str:
    """Request id for HTTP events, the event's own id otherwise, a fresh one as a last resort."""
    context = getattr(event, "context", None)
    if isinstance(context, dict):
        request_id = context.get("requestId")
        if request_id:
            return str(request_id)
    to_dict = getattr(event, "to_dict", None)
    if callable(to_dict):
        raw = to_dict()
        if isinstance(raw, dict) and raw.get("id"):
            return str(raw["id"])
    return str(uuid.uuid4())


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every event type: correlation id, cold start flag, metrics flush."""
    _ensure_tracer()
    logger.set_correlation_id(correlation_id_for(event))
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    function_name = getattr(lambda_context, "function_name", None)
    logger.append_keys(cold_start=_state["cold_start"], function_name=function_name)
    _state["cold_start"] = False
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
            metrics.clear_metrics()  # a disabled flush keeps them; never let them pile up across calls


def current_correlation_id() -> str:
    return str(logger.get_correlation_id() or "")
