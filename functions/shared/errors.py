"""Domain errors raised by services and adapters.

Adapters translate AWS ``ClientError`` into these; HTTP routes map them to status codes in one
place (``functions.shared.http``). Nothing above the adapters looks at AWS error codes.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


class AftercareError(Exception):
    """Base for every error the domain knows about; ``code`` is the class name in snake_case."""

    code: ClassVar[str] = "error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AftercareError):
    """What was asked for does not exist (or belongs to another store)."""


class Conflict(AftercareError):
    """A conditional write lost: the thing exists already or changed under us."""


class Throttled(AftercareError):
    """AWS asked us to slow down; the caller may retry later."""


class DependencyFailed(AftercareError):
    """An AWS call failed for a reason that is not the caller's fault."""


class InvalidRequest(AftercareError):
    """AWS refused a request as invalid (a key too long, an item too large): retrying will not help."""


class ConfigurationError(AftercareError):
    """The deployment is missing or has an invalid setting."""
