"""Run Step Functions Lambda tasks with the real in-process handlers.

moto executes state machines, but without Docker its Lambda backend returns canned payloads. We
replace ``LambdaSimpleBackend.invoke`` with a dispatcher from function name to the Chalice handler,
returning Lambda's error envelope when a handler raises, so Retry and Catch behave as on AWS. This
patches a private moto class: ``tests/integration/test_stepfunctions_hook.py`` is its contract test.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any, Any], Any]

_PATCHED = "invoke"  # the moto method replaced by install()
_handlers: dict[str, Handler] = {}
_installed: dict[str, Any] = {}


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def register(function_name: str, handler: Handler) -> None:
    _handlers[function_name] = handler


def clear() -> None:
    _handlers.clear()


def _name_from(function_name: str) -> str:
    # Accept a bare name, a full ARN or a partial ARN, with or without qualifier.
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    return function_name.split(":")[0]


def invoke(function_name: str, payload: Any) -> tuple[bytes, bool]:
    """Call the registered handler; return (payload bytes, whether it failed)."""
    name = _name_from(function_name)
    handler = _handlers.get(name)
    if handler is None:
        error = {"errorMessage": f"Function not found: {name}", "errorType": "ResourceNotFoundException"}
        return json.dumps(error).encode(), True
    event = json.loads(payload) if isinstance(payload, str | bytes) and payload else payload
    try:
        result = handler(event, LocalLambdaContext(function_name=name))
    except Exception as exc:
        envelope = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc)[-3:],
        }
        return json.dumps(envelope).encode(), True
    return json.dumps(result).encode(), False


def install() -> None:
    """Patch moto's Lambda backends so invocations reach the registered handlers."""
    if _installed:
        return
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def simple_invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        result, failed = invoke(function_name, body)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return result

    _installed["simple"] = LambdaSimpleBackend.invoke
    setattr(LambdaSimpleBackend, _PATCHED, simple_invoke)


def uninstall() -> None:
    if not _installed:
        return
    from moto.awslambda_simple.models import LambdaSimpleBackend

    setattr(LambdaSimpleBackend, _PATCHED, _installed.pop("simple"))


def register_app(app: Any, function_prefix: str) -> dict[str, str]:
    """Register every ``@app.lambda_function`` of a Chalice app; return name -> local function name."""
    import importlib

    names: dict[str, str] = {}
    for function in getattr(app, "pure_lambda_functions", []):
        local_name = f"{function_prefix}-{function.name}"
        module_name, _, attribute = function.handler_string.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        register(local_name, handler)
        names[function.name] = local_name
    return names
