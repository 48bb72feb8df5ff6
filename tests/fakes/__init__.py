"""In-memory fakes of the adapters, implementing the same Protocols (mypy checks them)."""
