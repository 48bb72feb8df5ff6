"""Test helpers: an HTTP client over the same gateway the local stack serves, and sample data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chalice.config import Config

from aftercare.devstack.server import AftercareGateway, thread_safe


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class ApiClient:
    """Calls a Chalice app through the local API Gateway stand-in, in-process."""

    def __init__(self, app: Any) -> None:
        config = Config.create(
            chalice_stage="test", app_name="aftercare", lambda_timeout=30, lambda_memory_size=256
        )
        self.gateway = AftercareGateway(thread_safe(app), config)  # safe for tests that post in threads

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        all_headers = {"host": "care.example.com", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("content-type", "application/json")
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if raw is not None:
            all_headers.setdefault("content-type", "application/json")
            all_headers["content-length"] = str(len(raw))
        if query:
            path = f"{path}?{urlencode(query)}"
        response = self.gateway.handle_request(method=method, path=path, headers=all_headers, body=raw)
        headers_out = {k.lower(): str(v) for k, v in response.get("headers", {}).items()}
        text = response.get("body") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return ApiResponse(response["statusCode"], headers_out, text)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def minimal_store_config(store_id: str = "acme-goods") -> dict[str, Any]:
    return {
        "id": store_id,
        "name": "Acme Goods",
        "sender": {"email": f"hello@{store_id}.example.com", "name": "Acme Goods"},
        "postal_address": "Acme Goods, 1 Main Street, Springfield 12345",
        "staff": {"alert_emails": [f"care@{store_id}.example.com"]},
        "integrations": {"shopify": {}, "generic": {}},
        "outreach": {
            "product_types": {"clothing": {"review_delay": "P14D"}, "experience": {"review_delay": "P1D"}},
        },
    }


def wait_for(check: Any, seconds: float = 30) -> Any:
    """``check()``'s first true value, asked every 0.1 s; fails after ``seconds`` (a running stack's
    background work: stream records, Step Functions steps)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")
