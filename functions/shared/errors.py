"""Domain errors raised by services and adapters.

Adapters translate AWS ``ClientError`` into these; HTTP routes map them to status codes in one
place (``functions.shared.http``). Nothing above the adapters looks at AWS error codes.
"""

from __future__ import annotations


class AftercareError(Exception):
    """Base for every error the domain knows about."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AftercareError):
    code = "not_found"


class Conflict(AftercareError):
    """A conditional write lost: the thing exists already or changed under us."""

    code = "conflict"


class Throttled(AftercareError):
    """AWS asked us to slow down; the caller may retry later."""

    code = "throttled"


class DependencyFailed(AftercareError):
    """An AWS call failed for a reason that is not the caller's fault."""

    code = "dependency_failed"


class InvalidRequest(AftercareError):
    """AWS refused a request as invalid (a key too long, an item too large): retrying will not help."""

    code = "invalid_request"


class ConfigurationError(AftercareError):
    """The deployment is missing or has an invalid setting."""

    code = "configuration_error"
