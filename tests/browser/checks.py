"""What every browser test judges a rendered page or email by: sideways scrolling and axe's findings."""

from __future__ import annotations

from typing import Any

# Emails are documents shown inside a mail client's own page: landmarks are the client's business (axe's
# "region" and "landmark-one-main" rules).
EMAIL_RULES_OFF = {"region": {"enabled": False}, "landmark-one-main": {"enabled": False}}


def overflow(page: Any) -> int:
    """How many pixels the document scrolls sideways (0 when nothing sticks out)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def serious_violations(page: Any, email: bool = False) -> list[str]:
    """axe's serious and critical findings on ``page``, each with where it was found."""
    from axe_playwright_python.sync_playwright import Axe

    # only violations in full: axe's passes and the rest cost a third of its time to list, and are not read
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if email:
        options["rules"] = EMAIL_RULES_OFF
    results = Axe().run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
