"""Typed configuration read from the environment, checked once per cold start.

Every resource name comes from the environment (wired from ``infra/`` by CloudFormation in
production and by the local stack on a laptop); there are no defaults for them, so a missing one
fails at once with a message naming the variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.shared.errors import ConfigurationError

ENV_PREFIX = "AFTERCARE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    stage: str = Field(default="prod", description="Deployment stage name")
    public_base_url: str = Field(description="HTTPS base URL customers and staff reach the API at")

    stores_table: str
    orders_table: str
    outreach_table: str
    responses_table: str
    flags_table: str
    returns_table: str
    customers_table: str
    idempotency_table: str
    workspace_table: str
    insights_table: str
    send_rate_table: str = Field(description="One item per second counting the emails the sweep sent")

    signing_key_secret_arn: str = Field(description="Secrets Manager secret holding the token key")
    operator_key_secret_arn: str = Field(description="Secrets Manager secret holding the operator key")
    ses_configuration_set: str
    returns_state_machine_arn: str = Field(description="The returns workflow (Step Functions)")

    due_shards: int = Field(default=8, ge=1, le=64, description="Write shards of the outreach due index")
    sweep_batch: int = Field(default=100, ge=1, le=1000, description="Due items read per shard per sweep")
    sweep_max_emails: int = Field(
        default=20_000, ge=1, description="Emails one sweep worker sends at most in one invocation"
    )
    sweep_worker_concurrency: int = Field(
        default=3, ge=1, le=32, description="Emails one sweep worker sends at the same time (threads)"
    )
    sweep_worker_function: str = Field(
        default="",
        description="The Lambda the sweep invokes asynchronously once per due shard; empty: the "
        "workers run as threads of the sweep's own process (the local stack and tests)",
    )
    sweep_send_share: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Share of the SES MaxSendRate the sweep may use (the rest: alerts, replies, digests)",
    )
    send_rate: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Emails per second SES takes, instead of asking SES (the local stack's simulated SES)",
    )
    send_retries: int = Field(default=3, ge=0, le=10, description="Immediate SES retries on throttling")
    send_retry_base_ms: int = Field(default=200, ge=0, description="First backoff between SES retries")
    sentiment: Literal["comprehend", "local"] = Field(
        default="comprehend", description="Text sentiment analyzer"
    )
    refund_timeout_seconds: float = Field(default=10, gt=0, le=60, description="Store refund call timeout")
    max_send_attempts: int = Field(default=5, ge=1, le=20, description="Sweeps that may try an email")
    allow_loopback_endpoints: bool = Field(
        default=False,
        description="Let refund endpoints point at 127.0.0.1 (the embedded local stack and tests only)",
    )


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        variable = ENV_PREFIX + field.upper()
        if item["type"] == "missing":
            problems.append(f"{variable} is not set")
        else:
            problems.append(f"{variable}: {item['msg']}")
    return "Aftercare configuration is incomplete: " + "; ".join(problems)


def load_settings() -> Settings:
    """The settings in the environment now; a missing or invalid one fails naming its variable."""
    try:
        return Settings()  # every value comes from the environment
    except ValidationError as error:
        raise ConfigurationError(_describe(error)) from None
