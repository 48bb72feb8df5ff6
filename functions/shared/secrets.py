"""Secrets read from Secrets Manager once per process (and refreshed after a few minutes)."""

from __future__ import annotations

import threading
import time

from functions.shared import aws
from functions.shared.errors import ConfigurationError, DependencyFailed

_TTL_SECONDS = 300
_lock = threading.Lock()
_cache: dict[str, tuple[float, str]] = {}


def get_secret(arn: str) -> str:
    now = time.monotonic()
    cached = _cache.get(arn)
    if cached and now - cached[0] < _TTL_SECONDS:
        return cached[1]
    from botocore.exceptions import ClientError

    try:
        value = aws.secretsmanager().get_secret_value(SecretId=arn)["SecretString"]
    except ClientError as error:
        if aws.error_code(error) == "ResourceNotFoundException":
            raise ConfigurationError(f"secret {arn} does not exist") from error
        raise DependencyFailed(f"could not read secret {arn}: {aws.error_code(error)}") from error
    with _lock:
        _cache[arn] = (now, value)
    return value


def reset_secrets() -> None:
    with _lock:
        _cache.clear()
