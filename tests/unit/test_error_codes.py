"""docs/api.md's error table lists every `error` code the service can answer, and nothing else.

The codes are read from where they are made: literal `ApiError(status, "code", ...)` calls in functions/,
the webhook refusals, the domain errors the route wrapper maps to a status, the codes the HTTP middleware
derives from Chalice's own errors, and API Gateway's responses in infra/.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r'ApiError\(\s*\d{3},\s*"([a-z_]+)"')


def documented() -> set[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| status")]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[2])}


def answered() -> set[str]:
    import functions
    from functions.shared.errors import AftercareError
    from functions.shared.http import _DOMAIN_STATUS
    from functions.webhooks.errors import Refusal

    codes = set()
    for path in (ROOT / "functions").rglob("*.py"):
        codes |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    codes |= {refusal.value for refusal in Refusal}
    for module in pkgutil.walk_packages(functions.__path__, "functions."):
        importlib.import_module(module.name)  # so every domain error class is known
    mapped = tuple(kind for kind, _ in _DOMAIN_STATUS)
    pending: list[type[AftercareError]] = [AftercareError]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        if issubclass(kind, mapped):
            codes.add(kind.code)  # answered with its own code; an unmapped one is an internal_error
    codes |= {"method_not_allowed", "unsupported_media_type"}  # Chalice's 405/415, renamed by http.middleware
    gateway = (ROOT / "infra" / "aftercare.yaml").read_text(encoding="utf-8")
    codes |= set(re.findall(r'\{"error": "([a-z_]+)"', gateway))
    return codes


def test_the_error_table_lists_every_code_the_service_answers() -> None:
    assert answered() - documented() == set(), "answered but missing from docs/api.md"
    assert documented() - answered() == set(), "in docs/api.md but never answered"


def test_the_reader_finds_codes_however_the_call_is_wrapped() -> None:
    found = LITERAL.findall('raise ApiError(\n    400,\n    "invalid_query",\n    "limit ...")')
    assert found == ["invalid_query"]
