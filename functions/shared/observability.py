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

# Powertools reads its own documented variables (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
# POWERTOOLS_LOG_LEVEL), set once in .chalice/config.json; the local stack and the tests load that file.
logger = Logger()
metrics = Metrics()

_state: dict[str, Any] = {"cold_start": True, "tracer": None}


def _tracing_enabled() -> bool:
    """Only inside Lambda, and not when POWERTOOLS_TRACE_DISABLED is true (which the Tracer would honour
    too, but only after paying for the X-Ray SDK import)."""
    from aws_lambda_powertools.shared.functions import strtobool

    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
    return in_lambda and not strtobool(os.environ.get("POWERTOOLS_TRACE_DISABLED") or "false")


def _ensure_tracer() -> None:
    if _state["tracer"] is None and _tracing_enabled():
        from aws_lambda_powertools import Tracer

        _state["tracer"] = Tracer()  # patches boto3 so AWS calls show in X-Ray


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
