"""`aftercare customer export|erase`: what the command sends, what it prints, and that erase asks first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aftercare import cli

pytestmark = pytest.mark.unit

ENDPOINT = "https://care.example.com"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, Any]]:
    made: list[tuple[str, str, str, Any]] = []

    def call(method: str, url: str, key: str, body: Any = None) -> Any:
        made.append((method, url, key, body))
        if url.endswith("/erase"):
            return {"removed": {"orders": 2, "answers": 1, "flags": 0}, "resumed": False}
        return {"email": body["email"], "orders": [{"order_id": "1001"}]}

    monkeypatch.setattr(cli, "_call", call)
    monkeypatch.delenv("AFTERCARE_ENDPOINT", raising=False)
    monkeypatch.delenv("AFTERCARE_OPERATOR_KEY", raising=False)
    return made


def test_export_posts_the_address_in_the_body_and_writes_the_file(
    calls: list[tuple[str, str, str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "sam.json"
    args = ["customer", "export", "--store", "acme", "--email", "sam@example.com", "--endpoint", ENDPOINT]
    assert cli.main([*args, "--operator-key", "op", "--out", str(out)]) == 0
    assert calls == [
        ("POST", f"{ENDPOINT}/v1/admin/stores/acme/customers/export", "op", {"email": "sam@example.com"})
    ]
    assert json.loads(out.read_text())["orders"] == [{"order_id": "1001"}]


def test_export_with_the_stores_admin_key_uses_the_stores_route(
    calls: list[tuple[str, str, str, Any]],
) -> None:
    args = ["customer", "export", "--store", "acme", "--email", "sam@example.com", "--endpoint", ENDPOINT]
    assert cli.main([*args, "--admin-key", "ak_acme.x"]) == 0
    assert calls[0][1:3] == (f"{ENDPOINT}/v1/stores/acme/customers/export", "ak_acme.x")


def test_erase_asks_first_and_does_nothing_without_a_yes(
    calls: list[tuple[str, str, str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("builtins.input", lambda question: "n")
    args = ["customer", "erase", "--store", "acme", "--email", "sam@example.com", "--endpoint", ENDPOINT]
    assert cli.main([*args, "--operator-key", "op"]) == 1
    assert calls == [] and "Nothing erased." in capsys.readouterr().out


def test_erase_with_yes_says_what_went(
    calls: list[tuple[str, str, str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["customer", "erase", "--store", "acme", "--email", "sam@example.com", "--endpoint", ENDPOINT]
    assert cli.main([*args, "--operator-key", "op", "--yes"]) == 0
    assert calls[0][1] == f"{ENDPOINT}/v1/admin/stores/acme/customers/erase"
    printed = capsys.readouterr().out
    assert "Erased sam@example.com from store acme: 1 answers, 2 orders" in printed
    assert "stay stopped" in printed
