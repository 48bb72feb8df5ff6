"""Entry point of the digest: the hourly schedule ``app.py`` declares as ``digest``."""

from __future__ import annotations

from typing import Any


def digest(event: Any) -> dict[str, int]:
    """Send the weekly digests that are due (a scheduled event)."""
    from functions.composition import digest_ports
    from functions.digest import service

    found = service.run(digest_ports())
    return {"stores": found.stores, "sent": found.sent}
