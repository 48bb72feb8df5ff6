"""The production package: SAM template merged with infra/, cfn-lint clean, importable zip."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aftercare import infra, packaging

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("package")]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package") / "out"
    packaging.build(out, lint=True)  # raises if cfn-lint reports anything
    return out


def test_template_holds_the_infra_resources_and_wiring(package: Path) -> None:
    template = infra.load_template(package / "sam.yaml")
    resources = template["Resources"]
    for logical in infra.resources_of_type(infra.load_template(), "AWS::DynamoDB::Table"):
        assert resources[logical]["Type"] == "AWS::DynamoDB::Table"
    assert template["Globals"]["Function"]["Environment"]["Variables"]["AFTERCARE_STORES_TABLE"] == {
        "Ref": "StoresTable"
    }
    statements = resources["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {s["Sid"] for s in statements} >= {"Tables", "Secrets", "Email"}
    assert "MISSING_AUTHENTICATION_TOKEN" in resources["RestAPI"]["Properties"]["GatewayResponses"]


def test_no_dev_routes_are_deployed(package: Path) -> None:
    paths = infra.load_template(package / "sam.yaml")["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "paths"
    ]
    assert "/health" in paths
    assert not [p for p in paths if p.startswith("/_dev")]


def test_zip_ships_functions_and_templates(package: Path) -> None:
    names = zipfile.ZipFile(package / "deployment.zip").namelist()
    assert "app.py" in names
    assert "functions/shared/settings.py" in names
    assert "templates/pages/error.html" in names
    assert not [n for n in names if n.startswith(("aftercare/", "tests/", "vendor/"))]


def test_app_imports_from_the_zip_alone(package: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(package / "deployment.zip").extractall(tmp_path)
    # -S: no site-packages, so only the zip's own contents (and the stdlib) are importable.
    probe = "import app, sys; print(sorted(app.app.routes)); print('boto3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    routes, boto3_loaded = result.stdout.splitlines()
    assert "/v1/admin/stores" in routes
    assert boto3_loaded == "False"  # boto3 is imported lazily, off the cold-start path
