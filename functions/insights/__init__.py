"""Insights: per-store, per-week counters kept from the table streams, the report built from them."""
