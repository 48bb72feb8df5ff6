"""Store creation tells the owner to verify the sender's domain with SES only where SES really checks it."""

from __future__ import annotations

import pytest

from aftercare.cli import _print_identity
from tests.helpers import ApiClient, bearer, minimal_store_config

pytestmark = pytest.mark.integration


def test_the_local_stack_needs_no_verification_and_the_cli_warns_of_none(
    api: ApiClient, operator_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local stack (its SES is simulated: every email lands in the dev outbox)
    # When a store is created
    created = api.post(
        "/v1/admin/stores", json_body={"config": minimal_store_config()}, headers=bearer(operator_key)
    )

    # Then nothing needs verifying, and the CLI prints no DNS records or warning
    assert created.status == 201, created.text
    identity = created.json["sender_identity"]
    assert identity["verification_needed"] is False and identity["dkim_records"] == []
    _print_identity(identity)
    assert capsys.readouterr().out == ""


def test_on_aws_an_unverified_domain_gets_its_dkim_records_and_a_warning(
    api: ApiClient, operator_key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions import composition

    # Given a deployment that is not the local stack
    monkeypatch.setenv("AFTERCARE_STAGE", "prod")
    composition.reset()

    created = api.post(
        "/v1/admin/stores", json_body={"config": minimal_store_config()}, headers=bearer(operator_key)
    )

    assert created.status == 201, created.text
    identity = created.json["sender_identity"]
    assert identity["verification_needed"] is True
    assert all(r["type"] == "CNAME" for r in identity["dkim_records"])  # moto issues no DKIM tokens
    _print_identity(identity)
    assert "SES has not verified acme-goods.example.com yet" in capsys.readouterr().out
