"""boto3 clients, built once per process and only when first needed.

boto3 dominates cold start, so it is imported here lazily rather than at module import. The endpoint
comes from the standard ``AWS_ENDPOINT_URL`` variable, which is how the local stack points the same
code at moto.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_comprehend import ComprehendClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_stepfunctions import SFNClient

_lock = threading.Lock()
_clients: dict[str, Any] = {}
UNCHECKED = frozenset({"dynamodb"})  # services whose requests botocore does not validate client-side


def _client(service: str) -> Any:
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            # Parameter shapes are checked by mypy (the boto3 stubs) and by the service itself; botocore's
            # own check of every request cost a fifth of a DynamoDB call's CPU (decision 57).
            config = Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=3,
                read_timeout=10,
                parameter_validation=service not in UNCHECKED,
            )
            _clients[service] = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
        return _clients[service]


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def sesv2() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    return client


def ses() -> Any:
    """SES (v1), for ``GetSendQuota`` only (SES v2's ``GetAccount`` says the same, but moto lacks it)."""
    return _client("ses")


def lambda_() -> LambdaClient:
    client: LambdaClient = _client("lambda")
    return client


def stepfunctions() -> SFNClient:
    client: SFNClient = _client("stepfunctions")
    return client


def secretsmanager() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


def comprehend() -> ComprehendClient:
    client: ComprehendClient = _client("comprehend")
    return client


def reset_clients() -> None:
    """Drop every cached client (tests start a fresh moto per test)."""
    with _lock:
        _clients.clear()


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",
    }
)


def domain_error(error: Exception, what: str) -> Exception:
    """The domain error for a failed AWS call.

    Throttling is retryable; a request AWS refuses as invalid (a key too long, an item too large) fails
    the same way again; anything else is a dependency failure.
    """
    from functions.shared.errors import DependencyFailed, InvalidRequest, Throttled

    code = error_code(error)
    if code in THROTTLING_CODES:
        return Throttled(f"{what}: AWS throttled the call")
    if code == "ValidationException":
        return InvalidRequest(f"{what} failed: AWS refused the request as invalid")
    return DependencyFailed(f"{what} failed: {code or type(error).__name__}")
