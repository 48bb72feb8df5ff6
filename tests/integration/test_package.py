"""The production package: SAM template merged with infra/, cfn-lint clean, a lean zip that imports
and renders every supported language as Lambda would run it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

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


def test_zip_ships_bytecode_of_the_cold_start_path(package: Path) -> None:
    """Lambda cannot write .pyc files into /var/task: the modules ``import app`` loads come compiled,
    as unchecked-hash .pyc (PEP 552), valid whatever times unzipping gives the sources."""
    archive = zipfile.ZipFile(package / "deployment.zip")
    compiled = [n for n in archive.namelist() if n.endswith(".pyc")]
    assert "__pycache__/app.cpython-311.pyc" in compiled
    assert "functions/shared/__pycache__/observability.cpython-311.pyc" in compiled
    assert not [n for n in compiled if n.startswith(("pydantic_core/", "babel/"))]  # not on the path
    for name in compiled:
        assert int.from_bytes(archive.read(name)[4:8], "little") == 0b01, name  # hash-based, unchecked
        source = name.replace("__pycache__/", "").replace(".cpython-311.pyc", ".py")
        assert source in archive.namelist(), name


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


# The alarms the operator's email hears from: threshold and the (namespace, metric) pairs each watches.
ALARMS = {
    "SweepErrorsAlarm": (1, {("AWS/Lambda", "Errors"), ("Aftercare", "SweepGroupFailed")}),
    "SweepItemsFailedAlarm": (
        1,
        {("Aftercare", "EmailFailed"), ("Aftercare", "EmailBroken"), ("Aftercare", "EmailGaveUp")},
    ),
    "InvocationFailuresAlarm": (1, {("AWS/SQS", "NumberOfMessagesSent")}),
    "FlagIteratorAgeAlarm": (300_000, {("AWS/Lambda", "IteratorAge")}),
    "InsightsIteratorAgeAlarm": (300_000, {("AWS/Lambda", "IteratorAge")}),
    "StreamFailuresAlarm": (1, {("AWS/SQS", "NumberOfMessagesSent")}),
    "RefundFailuresAlarm": (1, {("Aftercare", "RefundFailed")}),
    "ExecutionsFailedAlarm": (
        1,
        {
            ("AWS/States", "ExecutionsFailed"),
            ("AWS/States", "ExecutionsTimedOut"),
            ("AWS/States", "ExecutionsAborted"),
        },
    ),
    "BounceRateAlarm": (0.04, {("AWS/SES", "Reputation.BounceRate")}),
    "ComplaintRateAlarm": (0.0008, {("AWS/SES", "Reputation.ComplaintRate")}),
    "ApiErrorRateAlarm": (5, {("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Count")}),
}


def _watched(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    if "MetricName" in properties:
        return [{k: properties.get(k) for k in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in properties["Metrics"] if "MetricStat" in query]


def test_alarms_exist_with_their_thresholds_and_report_to_the_operator(package: Path) -> None:
    template = infra.load_template(package / "sam.yaml")
    resources = template["Resources"]
    alarms = infra.resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(ALARMS)
    for logical, (threshold, metrics) in ALARMS.items():
        properties = alarms[logical]["Properties"]
        assert properties["Threshold"] == threshold, logical
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", logical
        assert {(m["Namespace"], m["MetricName"]) for m in _watched(properties)} == metrics, logical
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}], logical
        assert not properties.get("InsufficientDataActions"), logical
        if "Metrics" in properties:
            assert [q["Id"] for q in properties["Metrics"] if q.get("ReturnData")] == ["result"], logical
    subscriptions = infra.resources_of_type(template, "AWS::SNS::Subscription")
    operator = [s["Properties"] for s in subscriptions.values() if s["Properties"]["Protocol"] == "email"]
    assert operator == [
        {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "OperatorEmail"}}
    ]
    assert "Default" not in template["Parameters"]["OperatorEmail"]  # every deployment names someone
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationsKey"}
    # CloudWatch must be able to publish to the encrypted topic through the key's policy.
    statements = resources["NotificationsKey"]["Properties"]["KeyPolicy"]["Statement"]
    services = [s["Principal"].get("Service", []) for s in statements if "Service" in s["Principal"]]
    assert any("cloudwatch.amazonaws.com" in s and "ses.amazonaws.com" in s for s in services)


def test_alarms_watch_what_the_code_and_the_template_name(package: Path) -> None:
    """Each Aftercare metric an alarm reads is emitted somewhere in functions/ with Powertools' service
    dimension; each Lambda, queue and state machine dimension names a resource of the template."""
    template = infra.load_template(package / "sam.yaml")
    resources = template["Resources"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (infra.ROOT / "functions").rglob("*.py"))
    config = json.loads((infra.ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    service = config["environment_variables"]["POWERTOOLS_SERVICE_NAME"]
    assert config["environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "Aftercare"
    stage = resources["RestAPI"]["Properties"]["StageName"]
    for logical, alarm in infra.resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        for metric in _watched(alarm["Properties"]):
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
            if metric["Namespace"] == "Aftercare":
                assert f'"{metric["MetricName"]}"' in source, (logical, metric["MetricName"])
                assert dimensions == {"service": service}, logical
            for name in ("FunctionName", "StateMachineArn"):
                if name in dimensions:
                    assert resources[dimensions[name]["Ref"]]["Type"] in {
                        "AWS::Serverless::Function",
                        "AWS::StepFunctions::StateMachine",
                    }, logical
            if "QueueName" in dimensions:
                queue = dimensions["QueueName"]["Fn::GetAtt"]
                assert resources[queue[0]]["Type"] == "AWS::SQS::Queue" and queue[1] == "QueueName"
            if metric["Namespace"] == "AWS/ApiGateway":
                assert dimensions == {"ApiName": {"Ref": "AWS::StackName"}, "Stage": stage}, logical
                assert resources["RestAPI"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}


def test_the_template_is_hardened(package: Path) -> None:
    """What checkov checks in make package, kept in the suite where it is cheap to check directly."""
    template = infra.load_template(package / "sam.yaml")
    resources = template["Resources"]
    for logical, table in infra.resources_of_type(template, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }, logical
    for kind in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
        for logical, resource in infra.resources_of_type(template, kind).items():
            assert resource["Properties"].get("KmsMasterKeyId"), logical
    api = resources["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    log_format = json.loads(api["AccessLogSetting"]["Format"])
    assert "$context.resourcePath" in log_format.values()
    assert not [
        v for v in log_format.values() if "$context.path" in v or "sourceIp" in v
    ]  # no tokens, no IPs
    assert api["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        }
    ]
    assert resources["RestAPI"]["DependsOn"] == "ApiGatewayAccount"
    for logical, function in infra.resources_of_type(template, "AWS::Serverless::Function").items():
        assert function["Properties"]["Tracing"] == "Active", logical
    scheduled = packaging.asynchronously_invoked(template)
    assert scheduled >= {"Sweep", "Escalate", "ReturnsDeadlines", "Digest", "SesEvents"}
    destinations = packaging.on_failure_destinations(template)
    for logical in scheduled:
        queue = destinations[logical]["Fn::GetAtt"][0]
        assert resources[queue]["Type"] == "AWS::SQS::Queue", logical
        role = resources[logical]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert any(
            s["Action"] == "sqs:SendMessage" and s["Resource"] == destinations[logical] for s in statements
        ), f"{role} may not send to {queue}"


def test_checkov_skips_name_resources_of_the_package(package: Path) -> None:
    template = infra.load_template(package / "sam.yaml")
    scanned = packaging.with_skips(template, packaging.checkov_skips())  # raises on an unknown resource
    skipped = {
        s["id"]
        for r in scanned["Resources"].values()
        for s in r.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert skipped == {s.check for s in packaging.checkov_skips()}
