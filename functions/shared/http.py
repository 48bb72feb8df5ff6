"""HTTP conventions shared by every route.

* Errors are JSON: ``{"error": <code>, "message": <sentence>, "fields": [...], "correlation_id": ...}``.
* Bad JSON is 400; a body that parses but breaks the schema is 422 naming every bad field.
* Unknown routes are a JSON 404 (API Gateway gateway responses in production, the local gateway here).
* An unexpected exception is a JSON 500 carrying the correlation id, never a stack trace.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import ChaliceUnhandledError, Response

from functions.shared.errors import AftercareError, Conflict, DependencyFailed, NotFound, Throttled
from functions.shared.observability import current_correlation_id, logger

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound="BaseModel")

JSON_HEADERS = {"Content-Type": "application/json"}
INTERNAL_MESSAGE = "Something went wrong on our side. Quote the correlation id if you contact support."
MAX_JSON_BYTES = 256 * 1024


class ApiError(ChaliceUnhandledError):
    """Raised by routes; the middleware turns it into a JSON error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = dict(headers or {})


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    body["correlation_id"] = correlation_id()
    return body


def correlation_id() -> str:
    """The request's correlation id (set by the observability middleware); never empty: an error answered
    before the middleware ran gets a fresh one, logged so it can be found."""
    found = current_correlation_id()
    if not found:
        import uuid

        found = str(uuid.uuid4())
        logger.set_correlation_id(found)
    return found


def unknown_route(method: str, path: str) -> dict[str, Any]:
    """The gateway answer for a path no route serves: a JSON 404 like API Gateway's ``MISSING_AUTHENTICATION
    _TOKEN`` response in infra/, with a correlation id of its own (the app never ran for it)."""
    import uuid

    request_id = str(uuid.uuid4())
    clean = path.split("?")[0][:200]
    logger.info("No route", extra={"method": method, "path": clean, "correlation_id": request_id})
    body = {
        "error": "not_found",
        "message": f"No route matches {method} {clean}.",
        "correlation_id": request_id,
    }
    return {
        "statusCode": 404,
        "headers": dict(JSON_HEADERS),
        "multiValueHeaders": {},
        "body": json.dumps(body),
    }


def json_response(body: Any, status: int = 200, headers: Mapping[str, Any] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def error_response(error: ApiError) -> Response:
    return json_response(error_body(error.code, error.message, error.fields), error.status, error.headers)


def validation_fields(error: ValidationError) -> list[dict[str, str]]:
    fields = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(body)"
        fields.append({"field": location, "problem": str(item["msg"]).removeprefix("Value error, ")})
    return fields


PAGE_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}


def html_page(status: int, template: str, **context: Any) -> Response:
    """A page people open from an email: no caching, no referrer, no framing, nothing external."""
    from functions.shared.templating import render

    return Response(body=render(template, **context), status_code=status, headers=dict(PAGE_HEADERS))


def html_error(status: int, heading: str, message: str, hint: str = "", locale: str = "en") -> Response:
    """A friendly error page for routes people open in a browser (never a stack trace), in ``locale``."""
    from functions.shared.i18n import Translator
    from functions.shared.templating import language_of, render

    body = render(
        "pages/error.html",
        title=heading,
        heading=heading,
        message=message,
        hint=hint,
        locale=locale,
        reference=Translator(language_of(locale))("page_reference"),
        correlation_id=current_correlation_id(),
    )
    return Response(body=body, status_code=status, headers=dict(PAGE_HEADERS))


def link_problem(error: Exception, locale: str = "en") -> Response:
    """The page a person sees when the link they followed does not open (``links.problem`` decides)."""
    from functions.shared.i18n import Translator
    from functions.shared.links import problem

    found = problem(error)
    t = Translator(locale)
    return html_error(found.status, t(found.title), t(found.message), locale=locale)


def form_bytes(request: Any) -> bytes:
    """A request's raw body as bytes (Chalice hands over text or bytes depending on the content type)."""
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def parse_json_body(
    raw_body: bytes | str | None,
    model: type[ModelT],
    explain: Callable[[ValidationError], list[dict[str, str]]] | None = None,
) -> ModelT:
    """Decode and validate a JSON request body, raising 400/413/422 ``ApiError``s.

    ``explain`` words the 422's ``fields`` (default: pydantic's messages by dotted location).
    """
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    if not raw_body:
        raise ApiError(400, "empty_body", "The request body is empty; send a JSON object.")
    if len(raw_body) > MAX_JSON_BYTES:
        raise ApiError(413, "body_too_large", f"The request body exceeds {MAX_JSON_BYTES} bytes.")
    try:
        data = json.loads(raw_body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "The request body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            400, "invalid_json", f"The request body is not valid JSON: {error.msg} at line {error.lineno}."
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "The request body nests too deeply.") from None
    from pydantic import ValidationError  # imported on first use: routes without bodies never pay for it

    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = (explain or validation_fields)(error)
        raise ApiError(422, "validation_failed", "Some fields are missing or invalid.", fields) from None


_DOMAIN_STATUS: list[tuple[type[AftercareError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (Throttled, 503),
    (DependencyFailed, 502),
]


def _status_for(error: AftercareError) -> int:
    for kind, status in _DOMAIN_STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _normalise_chalice_error(response: Response) -> Response:
    """Chalice's own errors (405, 415, its catch-all 500) use another shape; give them ours."""
    body = response.body
    if isinstance(body, dict) and "Code" in body and "error" not in body:
        code = str(body["Code"])
        if response.status_code >= 500:
            logger.error("Unhandled error in route", extra={"chalice_code": code})
            return json_response(error_body("internal_error", INTERNAL_MESSAGE), 500)
        snake = (
            "".join("_" + c.lower() if c.isupper() else c for c in code).lstrip("_").removesuffix("_error")
        )
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return json_response(error_body(snake, str(body.get("Message", ""))), response.status_code, headers)
    return response


def route(
    blueprint: Any, path: str, methods: tuple[str, ...] = ("GET",), content_types: list[str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view whose failures follow the JSON error convention.

    Domain errors become their status code; anything unexpected is logged with its traceback and
    answered as a 500 carrying only the correlation id.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except ApiError:
                raise
            except AftercareError as error:
                status = _status_for(error)
                if status >= 500:
                    logger.exception("Request failed")
                if status == 500:  # a domain error no status is defined for: a bug, told like one
                    raise ApiError(500, "internal_error", INTERNAL_MESSAGE) from error
                raise ApiError(status, error.code, error.message) from error
            except Exception:
                logger.exception("Unhandled error in route")
                raise ApiError(500, "internal_error", INTERNAL_MESSAGE) from None

        options: dict[str, Any] = {"methods": list(methods)}
        if content_types:
            options["content_types"] = content_types
        blueprint.route(path, **options)(wrapped)
        return view

    return decorator


def middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice ``http`` middleware mapping every failure onto the JSON error convention."""
    try:
        response = get_response(event)
    except ApiError as error:
        return error_response(error)
    return _normalise_chalice_error(response)
