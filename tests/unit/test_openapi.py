"""docs/openapi.yaml documents exactly the routes the application serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit


def test_every_route_and_method_is_documented_and_nothing_else() -> None:
    import app

    document = yaml.safe_load(Path("docs/openapi.yaml").read_text())
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch", "head"}
    }
    served = {(path, method) for path, methods in app.app.routes.items() for method in methods}
    assert served == documented
