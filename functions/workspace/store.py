"""Workspace table adapter: the only code that reads or writes workspace items.

Layout (``pk``/``sk``, TTL ``expires_at``) is documented in ``docs/data-model.md``.
"""

from __future__ import annotations

from functions.shared.adapter import DynamoAdapter


class WorkspaceRepository(DynamoAdapter):
    """Sign-in links used, sign-in rate windows, signed-out sessions, audit entries, digest markers."""
