"""The app served in the test's own process (the local stack's HTTP server, against the test's moto), and
browser tabs that carry a real workspace session cookie for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.workspace import session
from tests.conftest import free_port, shut_down_at_once


@contextmanager
def serving(name: str) -> Iterator[str]:
    """Serve the app on 127.0.0.1 while the block runs; yields its base URL."""
    import app
    from aftercare.devstack.server import create_server

    server = create_server(app.app, "127.0.0.1", free_port())
    thread = threading.Thread(target=server.server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        shut_down_at_once(server.shutdown, ("127.0.0.1", server.port))
        thread.join(10)


def signed_in_tab(browser: Any, url: str, token: str, path: str, width: int = 1280, **options: Any) -> Any:
    """A new browser tab, ``width`` pixels wide, with the session cookie ``token``, opened on ``path``."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.add_cookies(
        [
            {
                "name": session.COOKIE,
                "value": token,
                "domain": "127.0.0.1",
                "path": "/workspace",
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    tab = context.new_page()
    tab.goto(f"{url}{path}")
    return tab
