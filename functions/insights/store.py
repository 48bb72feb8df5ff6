"""Insights table adapter: the only code that reads or writes the counters.

Layout (``pk``/``sk``, TTL ``expires_at``) is documented in ``docs/data-model.md``.
"""

from __future__ import annotations

from functions.shared.adapter import DynamoAdapter


class InsightsRepository(DynamoAdapter):
    """Weekly counters per store and per product, and the markers that make each count happen once."""
