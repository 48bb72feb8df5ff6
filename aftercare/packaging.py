"""``make package``: the production CloudFormation package, checked by cfn-lint.

1. ``vendor/functions`` and ``vendor/templates`` link to the top-level folders, so Chalice ships them
   in the deployment zip (it ships app.py, chalicelib/ and the contents of vendor/ only).
2. ``infra/aftercare.yaml`` becomes ``build/merge.yaml`` with each state machine's ASL file inlined.
3. ``chalice package --merge-template`` writes the SAM template and ``deployment.zip``.
4. The zip is made lean (``slim_zip``): nothing the Lambda Python runtime already provides (boto3 and
   its dependencies, unless requirements.txt pins one on purpose) and only the Babel locale data of the
   supported locales, plus the bytecode of the modules ``import app`` loads (``add_bytecode``); it must
   stay within ``ZIP_LIMIT_BYTES``.
5. Checks: every ``${Placeholder}`` in a definition has a substitution, every function role has a
   real policy, cfn-lint reports no errors, and checkov (when given, as ``make package`` does) fails no
   check but those ``infra/checkov-skips.yaml`` skips, each with its reason.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from aftercare import infra

ROOT = infra.ROOT
VENDORED = ("functions", "templates")
ZIP_LIMIT_BYTES = 10 * 1024 * 1024
# What the Lambda Python runtime puts on sys.path beside the function's code (boto3 and everything it
# depends on). Shipped only when requirements.txt names it, that is when it is pinned on purpose.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
BABEL_DATA = "babel/locale-data/"
CHECKOV_SKIPS = infra.INFRA / "checkov-skips.yaml"
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
_CHECK_ID = re.compile(r"^CKV2?_AWS_[0-9]+$")
MIN_REASON = 40  # characters: a reason says why, not just "not needed"


class PackagingError(Exception):
    pass


def link_vendor(root: Path = ROOT) -> None:
    vendor = root / "vendor"
    vendor.mkdir(exist_ok=True)
    for name in VENDORED:
        link = vendor / name
        if link.is_symlink() or link.exists():
            if link.is_symlink() and os.readlink(link) == f"../{name}":
                continue
            raise PackagingError(f"{link} exists and is not the expected symlink to ../{name}")
        link.symlink_to(f"../{name}")


def merge_template(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every state machine definition inlined from infra/statemachines/."""
    for logical, resource in infra.resources_of_type(template, "AWS::StepFunctions::StateMachine").items():
        try:
            source = infra.definition_for(resource)
        except ValueError as error:
            raise PackagingError(f"{logical}: {error}") from None
        substitutions = resource["Properties"].get("DefinitionSubstitutions", {})
        missing = sorted(source.placeholders - set(substitutions))
        if missing:
            raise PackagingError(f"{logical}: no DefinitionSubstitutions for {', '.join(missing)}")
        resource["Properties"]["Definition"] = source.definition
    return template


ASYNC_EVENTS = {"Schedule", "ScheduleV2", "CloudWatchEvent", "EventBridgeRule", "SNS", "S3"}


def asynchronously_invoked(template: dict[str, Any]) -> set[str]:
    """Functions AWS invokes asynchronously: those with a schedule (or another asynchronous event
    source) and those subscribed to an SNS topic."""
    found = set()
    for logical, resource in template["Resources"].items():
        events = resource.get("Properties", {}).get("Events") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and any(
            event.get("Type") in ASYNC_EVENTS for event in events.values()
        ):
            found.add(logical)
        if (
            resource.get("Type") == "AWS::SNS::Subscription"
            and resource["Properties"].get("Protocol") == "lambda"
        ):
            endpoint = resource["Properties"].get("Endpoint")
            if isinstance(endpoint, dict) and "Fn::GetAtt" in endpoint:
                found.add(endpoint["Fn::GetAtt"][0])
    return found


def on_failure_destinations(template: dict[str, Any]) -> dict[str, Any]:
    """Function logical id -> the on-failure destination of its asynchronous invocations."""
    found = {}
    for resource in infra.resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values():
        properties = resource.get("Properties", {})
        function = properties.get("FunctionName")
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if isinstance(function, dict) and "Ref" in function and destination:
            found[function["Ref"]] = destination
    return found


def check_package(template: dict[str, Any]) -> None:
    problems = []
    destinations = on_failure_destinations(template)
    for logical in sorted(asynchronously_invoked(template) - set(destinations)):
        problems.append(
            f"function {logical} is invoked asynchronously but has no on-failure destination: add an "
            "AWS::Lambda::EventInvokeConfig for it (see AsyncFailuresQueue in infra/aftercare.yaml)"
        )
    for logical, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::IAM::Role":
            statements = [
                statement
                for policy in resource.get("Properties", {}).get("Policies", [])
                for statement in policy.get("PolicyDocument", {}).get("Statement", [])
            ]
            if not statements:
                problems.append(f"{logical} has no policy statements: add them to infra/aftercare.yaml")
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            text = json.dumps(resource["Properties"].get("Definition", {}))
            known = set(resource["Properties"].get("DefinitionSubstitutions", {}))
            unknown = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)) - known)
            if unknown:
                problems.append(f"{logical} leaves placeholders unsubstituted: {', '.join(unknown)}")
        is_function = resource.get("Type") == "AWS::Serverless::Function"
        if is_function and f"{logical}LogGroup" not in template["Resources"]:
            problems.append(f"function {logical} has no {logical}LogGroup with a retention period")
    paths = (
        template["Resources"]
        .get("RestAPI", {})
        .get("Properties", {})
        .get("DefinitionBody", {})
        .get("paths", {})
    )
    dev_paths = [path for path in paths if path.startswith("/_dev")]
    if dev_paths:
        problems.append(f"dev console routes must never be deployed: {', '.join(dev_paths)}")
    if problems:
        raise PackagingError("\n".join(problems))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_on_purpose(requirements: Path = ROOT / "requirements.txt") -> set[str]:
    """The distributions requirements.txt names (canonical names)."""
    names = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0])
        if match:
            names.add(_canonical(match.group(1)))
    return names


def babel_locales() -> set[str]:
    """The Babel locale data the package keeps: the supported locales, plus root (every locale's
    parent) and en (Babel's fallback)."""
    from functions.stores.models import SUPPORTED_LOCALES

    return {"root", "en", *SUPPORTED_LOCALES}


@dataclass(frozen=True)
class SlimReport:
    bytes_before: int
    bytes_after: int
    dropped_distributions: list[str]
    dropped_locales: int


def biggest_entries(path: Path, count: int = 8) -> list[tuple[str, int]]:
    """The zip's biggest entries (compressed bytes), biggest first."""
    with zipfile.ZipFile(path) as archive:
        infos = sorted(archive.infolist(), key=lambda i: -i.compress_size)
    return [(i.filename, i.compress_size) for i in infos[:count]]


def _distribution_files(archive: zipfile.ZipFile) -> dict[str, set[str]]:
    """Each shipped distribution's files, from the RECORD of its ``.dist-info`` folder."""
    found: dict[str, set[str]] = {}
    for name in archive.namelist():
        folder, _, leaf = name.partition("/")
        if not (folder.endswith(".dist-info") and leaf == "RECORD"):
            continue
        distribution = _canonical(folder.removesuffix(".dist-info").rsplit("-", 1)[0])
        rows = csv.reader(io.StringIO(archive.read(name).decode("utf-8")))
        files = {row[0] for row in rows if row and not row[0].startswith("..")}
        found[distribution] = files | {f"{folder}/"}
    return found


def slim_zip(path: Path, requirements: Path = ROOT / "requirements.txt") -> SlimReport:
    """Rewrite the deployment zip without what the Lambda runtime provides (unless pinned on purpose in
    ``requirements``) and without the Babel locale data of unsupported locales."""
    keep_locales = babel_locales()
    pinned = pinned_on_purpose(requirements)
    before = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        shipped = _distribution_files(archive)
        dropped = sorted(d for d in shipped if d in RUNTIME_PROVIDED and d not in pinned)
        drop_files = {f for d in dropped for f in shipped[d]}
        drop_folders = tuple(f for f in drop_files if f.endswith("/"))
        # A distribution's compiled files are not in its RECORD: drop its modules' __pycache__ too.
        drop_modules = {f.split("/", 1)[0] for f in drop_files if "/" in f} - {""}
        slim = path.with_suffix(".slim.zip")
        dropped_locales = 0
        with zipfile.ZipFile(slim, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                name = info.filename
                if name in drop_files or name.startswith(drop_folders):
                    continue
                if "__pycache__/" in name and name.split("/", 1)[0] in drop_modules:
                    continue
                locale = name[len(BABEL_DATA) : -len(".dat")]
                if name.startswith(BABEL_DATA) and name.endswith(".dat") and locale not in keep_locales:
                    dropped_locales += 1
                    continue
                out.writestr(info, archive.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    slim.replace(path)
    return SlimReport(before, path.stat().st_size, dropped, dropped_locales)


def check_zip(path: Path) -> None:
    """The deployment zip's own checks: its size, and that it holds no locale data it should not."""
    problems = []
    size = path.stat().st_size
    if size > ZIP_LIMIT_BYTES:
        problems.append(f"{path.name} is {size / 2**20:.1f} MiB, over {ZIP_LIMIT_BYTES / 2**20:.0f} MiB")
    names = zipfile.ZipFile(path).namelist()
    keep = babel_locales()
    extra = sorted(
        n
        for n in names
        if n.startswith(BABEL_DATA) and n.endswith(".dat") and n[len(BABEL_DATA) : -len(".dat")] not in keep
    )
    if extra:
        problems.append(f"{path.name} ships Babel data of unsupported locales: {', '.join(extra[:5])}")
    missing = sorted({f"{BABEL_DATA}{locale}.dat" for locale in keep} - set(names))
    if missing:
        problems.append(f"{path.name} lacks Babel data: {', '.join(missing)}")
    if problems:
        raise PackagingError("\n".join(problems))


def lambda_runtime(dest: Path) -> Path:
    """A folder with what the Lambda Python runtime provides beside the function's code: boto3 and
    its dependencies, linked from this interpreter's own installation. ``dest`` must not exist."""
    dest.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(str(distribution.locate_file(top)))
            target = dest / top
            if source.exists() and not target.exists():
                target.symlink_to(source)
    return dest


def run_in_package(
    package_dir: Path, runtime_dir: Path, code: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter laid out as Lambda lays it out: the function's code (the unzipped
    package) first on sys.path, then the runtime's boto3, then the standard library; nothing else."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(runtime_dir),
        "LANG": "en_US.UTF-8",  # what Lambda sets: Babel's default locale would be en_US
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=package_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def unzip(package: Path, dest: Path) -> Path:
    """The deployment zip unzipped into ``dest`` (as Lambda does into /var/task)."""
    if dest.exists():
        shutil.rmtree(dest)
    with zipfile.ZipFile(package) as archive:
        archive.extractall(dest)
    return dest


@dataclass(frozen=True)
class Skip:
    """A checkov check that does not apply, and why; for the listed resources only, or for all."""

    check: str
    reason: str
    resources: tuple[str, ...] = ()


def checkov_skips(path: Path = CHECKOV_SKIPS) -> list[Skip]:
    """The skip list, validated: a known check id form, a written reason, no check listed twice."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise PackagingError(f"{path.name}: expected a list of skips")
    skips, problems, seen = [], [], set()
    for index, entry in enumerate(data):
        entry = entry if isinstance(entry, dict) else {}
        check = str(entry.get("check", ""))
        reason = " ".join(str(entry.get("reason") or "").split())
        resources = entry.get("resources") or []
        where = f"{path.name} entry {index + 1} ({check or 'no check'})"
        if not _CHECK_ID.match(check):
            problems.append(f"{where}: `check` must be a checkov id such as CKV_AWS_117")
        if len(reason) < MIN_REASON:
            problems.append(f"{where}: `reason` must say why the check does not apply")
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            problems.append(f"{where}: `resources` must be a list of logical ids")
            resources = []
        if check in seen:
            problems.append(f"{where}: the check is listed twice")
        seen.add(check)
        skips.append(Skip(check, reason, tuple(resources)))
    if problems:
        raise PackagingError("\n".join(problems))
    return skips


def with_skips(template: dict[str, Any], skips: list[Skip]) -> dict[str, Any]:
    """The template with each skip written where checkov reads it (``Metadata.checkov.skip`` of each
    resource it applies to), so checkov reports the skipped checks with their reasons."""
    resources = template["Resources"]
    unknown = sorted({f"{s.check}: {r}" for s in skips for r in s.resources if r not in resources})
    if unknown:
        raise PackagingError(f"{CHECKOV_SKIPS.name} names resources the template lacks: {', '.join(unknown)}")
    for logical, resource in resources.items():
        mine = [
            {"id": s.check, "comment": s.reason} for s in skips if not s.resources or logical in s.resources
        ]
        if mine:
            resource.setdefault("Metadata", {}).setdefault("checkov", {})["skip"] = mine
    return template


@dataclass(frozen=True)
class CheckovResult:
    passed: int
    skipped: int
    failed: list[str]  # "CKV_AWS_26 AWS::SNS::Topic.AlarmTopic: Ensure all data stored in the SNS topic ..."


def run_checkov(template_path: Path, checkov: Path, skips_path: Path = CHECKOV_SKIPS) -> CheckovResult:
    """checkov's CloudFormation checks over the packaged template, with the skip list applied."""
    if not checkov.exists():
        raise PackagingError(f"no checkov at {checkov}: `make package` installs it (.venv/checkov)")
    scan = with_skips(infra.load_template(template_path), checkov_skips(skips_path))
    with tempfile.TemporaryDirectory(prefix="aftercare-checkov-") as temp:
        scan_path = Path(temp) / "sam.yaml"
        scan_path.write_text(yaml.safe_dump(scan, sort_keys=False), encoding="utf-8")
        result = subprocess.run(
            [
                *(str(checkov), "-f", str(scan_path), "--framework", "cloudformation"),
                *("--skip-download", "--output", "json", "--compact"),
            ],
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # no download of Prisma's guideline links
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise PackagingError(
            f"checkov gave no report (exit {result.returncode}):\n{result.stderr[-2000:]}"
        ) from None
    if isinstance(report, list):
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]
    ]
    return CheckovResult(int(summary["passed"]), int(summary["skipped"]), failed)


_IMPORTED_FROM_PACKAGE = """
import os, sys, app
here = os.getcwd() + os.sep
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(here) and path.endswith(".py"):
        print(path[len(here):])
"""


def add_bytecode(path: Path) -> int:
    """Add compiled bytecode for every module of the zip that ``import app`` loads (the cold-start
    path); returns how many. Lambda's /var/task is read-only, so without it each cold start compiles
    them. Unchecked-hash .pyc files (PEP 552) are used whatever the files' times after unzipping; a
    Python whose bytecode differs ignores them and compiles, as before."""
    import py_compile

    with tempfile.TemporaryDirectory(prefix="aftercare-bytecode-") as temp:
        code = unzip(path, Path(temp) / "task")
        runtime = lambda_runtime(Path(temp) / "runtime")
        found = run_in_package(code, runtime, _IMPORTED_FROM_PACKAGE)
        if found.returncode != 0:
            raise PackagingError(f"the app does not import from the package:\n{found.stderr[-2000:]}")
        modules = sorted(set(found.stdout.split()))
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for module in modules:
                compiled = Path(
                    py_compile.compile(
                        str(code / module),
                        doraise=True,
                        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                    )
                    or ""
                )
                info = zipfile.ZipInfo(compiled.relative_to(code).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, compiled.read_bytes())
    return len(modules)


def build(out: Path, stage: str = "prod", lint: bool = True, checkov: Path | None = None) -> Path:
    link_vendor()
    build_dir = out.parent
    build_dir.mkdir(parents=True, exist_ok=True)
    merge_path = build_dir / "merge.yaml"
    merge_path.write_text(
        yaml.safe_dump(merge_template(infra.load_template()), sort_keys=False), encoding="utf-8"
    )
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run(
        [
            str(chalice),
            "package",
            "--stage",
            stage,
            "--template-format",
            "yaml",
            "--merge-template",
            str(merge_path),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    template_path = out / "sam.yaml"
    zip_path = out / "deployment.zip"
    slim_zip(zip_path)
    add_bytecode(zip_path)
    check_zip(zip_path)
    check_package(infra.load_template(template_path))
    if lint:
        cfn_lint = Path(sys.executable).parent / "cfn-lint"
        result = subprocess.run([str(cfn_lint), str(template_path)], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise PackagingError(
                f"cfn-lint found problems in {template_path}:\n{result.stdout}{result.stderr}"
            )
    if checkov is not None:
        found = run_checkov(template_path, checkov)
        if found.failed:
            raise PackagingError(
                f"checkov: {len(found.failed)} failed check(s) in {template_path}:\n  "
                + "\n  ".join(found.failed)
                + f"\nFix the template, or skip the check in infra/{CHECKOV_SKIPS.name} with its reason."
            )
        sys.stdout.write(
            f"package: checkov {found.passed} passed, {found.skipped} skipped "
            f"(reasons in infra/{CHECKOV_SKIPS.name}), 0 failed\n"
        )
    return template_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the production CloudFormation package")
    parser.add_argument("--out", default="build/package", type=Path)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--no-lint", action="store_true")
    parser.add_argument("--checkov", type=Path, help="the checkov to run (make package passes its own)")
    args = parser.parse_args(argv)
    try:
        template = build(
            args.out if args.out.is_absolute() else ROOT / args.out,
            args.stage,
            not args.no_lint,
            args.checkov,
        )
    except (PackagingError, subprocess.CalledProcessError) as error:
        sys.stderr.write(f"package: {error}\n")
        return 1
    zip_path = template.parent / "deployment.zip"
    sys.stdout.write(
        f"package: {template} and {zip_path} built; cfn-lint clean\n"
        f"package: deployment.zip {zip_path.stat().st_size / 2**20:.1f} MiB "
        f"(limit {ZIP_LIMIT_BYTES / 2**20:.0f} MiB), Babel data of {', '.join(sorted(babel_locales()))}; "
        "biggest entries:\n"
    )
    for name, size in biggest_entries(zip_path):
        sys.stdout.write(f"  {size / 1024:8.0f} KiB  {name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
