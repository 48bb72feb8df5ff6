"""The production package: SAM template merged with infra/, cfn-lint clean, a lean zip that imports
and renders every supported language as Lambda would run it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from aftercare import infra, packaging
from functions.stores.models import SUPPORTED_LOCALES

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


def test_zip_is_lean(package: Path) -> None:
    """At most 10 MiB; nothing the Lambda runtime provides; Babel data of the supported locales only."""
    zip_path = package / "deployment.zip"
    assert zip_path.stat().st_size <= packaging.ZIP_LIMIT_BYTES == 10 * 1024 * 1024
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
    assert not [t for t in tops if t.startswith(("botocore-", "boto3-", "urllib3-"))]
    locales = {
        n.removeprefix("babel/locale-data/").removesuffix(".dat")
        for n in names
        if n.startswith("babel/locale-data/") and n.endswith(".dat")
    }
    assert locales == {"root", "en", *SUPPORTED_LOCALES}
    assert "babel/global.dat" in names
    biggest = packaging.biggest_entries(zip_path, 1)[0]
    assert biggest[1] < 3 * 1024 * 1024, biggest  # no single entry dominates (today pydantic_core's .so)


def test_slim_keeps_a_runtime_library_pinned_on_purpose(tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for distribution, module in (("botocore", "botocore"), ("urllib3", "urllib3")):
            record = f"{module}/__init__.py,,\n{distribution}-1.0.dist-info/RECORD,,\n"
            archive.writestr(f"{module}/__init__.py", "")
            archive.writestr(f"{module}/__pycache__/__init__.cpython-311.pyc", "")
            archive.writestr(f"{distribution}-1.0.dist-info/RECORD", record)
        archive.writestr("babel/locale-data/de.dat", "x")
        archive.writestr("babel/locale-data/ar.dat", "x")
        archive.writestr("app.py", "")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the runtime's is too old for us\nbotocore==1.0  # pinned on purpose\n")
    report = packaging.slim_zip(zip_path, requirements)
    assert report.dropped_distributions == ["urllib3"]
    assert report.dropped_locales == 1
    assert sorted(zipfile.ZipFile(zip_path).namelist()) == [
        "app.py",
        "babel/locale-data/ar.dat",
        "botocore-1.0.dist-info/RECORD",
        "botocore/__init__.py",
        "botocore/__pycache__/__init__.cpython-311.pyc",
    ]


# Runs inside the unzipped package: the digest (Babel's numbers, currency, dates and intervals) and a
# customer's language named in each supported locale, as the staff alert shows it.
RENDER_PROBE = """
import json, sys
from datetime import UTC, date, datetime
from decimal import Decimal
from functions.digest import compose
from functions.digest.weeks import DigestWeek
from functions.insights.report import Week, nps
from functions.shared.i18n import language_name, format_moment
from functions.stores.models import Store, StoreConfig

def week(start, promoters, stars):
    return Week(start=start, promoters=promoters, passives=1, detractors=1, nps=nps(promoters, 1, 1),
                reviews=len(stars), average_stars=sum(stars) / len(stars), sent={"review": 10},
                answered={"review": 4}, response_rate={"review": 0.4}, flags={}, returns={}, outcomes={},
                refunded=Decimal("40.50"), stars=sum(stars))

found = {}
for locale in sys.argv[1:]:
    config = {
        "id": "kiwi-goods", "name": "Kiwi Goods", "default_locale": locale, "timezone": "Pacific/Auckland",
        "currency": "NZD", "sender": {"email": "hello@kiwi.example.com", "name": "Kiwi"},
        "postal_address": "1 Main Street, Auckland", "integrations": {"generic": {}},
        "staff": {"alert_emails": ["care@kiwi.example"], "owners": ["owner@kiwi.example"]},
        "outreach": {"product_types": {"clothing": {"review_delay": "P14D"}}},
    }
    store = Store(config=StoreConfig.model_validate(config), created_at="2026-10-01", admin_key_hash="x")
    sent_at = datetime(2026, 11, 8, 20, 0, tzinfo=UTC)
    facts = compose.Facts(
        store=store, week=DigestWeek.of(sent_at, "Pacific/Auckland"),
        this=week(date(2026, 11, 2), 8, [5, 4, 2]), before=week(date(2026, 10, 26), 6, [5, 5]),
        trend=[week(date(2026, 10, 26), 6, [5, 5]), week(date(2026, 11, 2), 8, [5, 4, 2])], comments=[],
        flags=compose.FlagCounts(open=1, overdue=0, more=False),
    )
    links = compose.Links(inbox="https://c.example/w", insights="https://c.example/i",
                          unsubscribe="https://c.example/u", flag=lambda flag_id: "https://c.example/f")
    email = compose.digest_email(facts, "owner@kiwi.example", links)
    found[locale] = {
        "subject": email.subject, "html_lang": f'lang="{locale}"' in email.html, "text": len(email.text),
        "german": language_name("de-DE", locale), "moment": format_moment(sent_at, locale, "Europe/Berlin"),
    }
print(json.dumps({"found": found, "boto3": "boto3" in sys.modules}, ensure_ascii=False))
"""


def test_package_renders_an_email_in_every_supported_locale(package: Path, tmp_path: Path) -> None:
    """From the unzipped package alone, with the runtime's boto3 after it, as Lambda lays them out."""
    code = packaging.unzip(package / "deployment.zip", tmp_path / "task")
    runtime = packaging.lambda_runtime(tmp_path / "runtime")
    assert (runtime / "boto3").exists() and (runtime / "botocore").exists()
    probe = f"import sys; sys.argv[1:] = {list(SUPPORTED_LOCALES)!r}\n{RENDER_PROBE}"
    result = packaging.run_in_package(code, runtime, probe)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)["found"]
    assert set(found) == set(SUPPORTED_LOCALES)
    for locale, seen in found.items():
        assert seen["html_lang"] and seen["text"] > 200 and seen["subject"], locale
        # German is no supported locale (its Babel data is not shipped), yet it is named in each one.
        assert seen["german"] not in {"de", "de-DE", ""}, locale
    assert found["en"]["german"] == "German"
    assert found["ar"]["german"] == "الألمانية"
    assert "Nov" in found["en"]["moment"]


def test_app_imports_from_the_package_with_the_runtime_boto3(package: Path, tmp_path: Path) -> None:
    """Only the zip and what the runtime provides are importable (-S: no site-packages); boto3 is
    imported lazily, off the cold-start path, and comes from the runtime when it is."""
    code = packaging.unzip(package / "deployment.zip", tmp_path / "task")
    runtime = packaging.lambda_runtime(tmp_path / "runtime")
    probe = (
        "import app, sys; print(sorted(app.app.routes)); print('boto3' in sys.modules); "
        "import botocore; print(botocore.__file__)"
    )
    result = packaging.run_in_package(code, runtime, probe)
    assert result.returncode == 0, result.stderr[-3000:]
    routes, boto3_loaded, botocore_file = result.stdout.splitlines()
    assert "/v1/admin/stores" in routes
    assert boto3_loaded == "False"
    assert botocore_file.startswith(str(runtime))
