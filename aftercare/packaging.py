"""``make package``: the production CloudFormation package, checked by cfn-lint.

1. ``vendor/functions`` and ``vendor/templates`` link to the top-level folders, so Chalice ships them
   in the deployment zip (it ships app.py, chalicelib/ and the contents of vendor/ only).
2. ``infra/aftercare.yaml`` becomes ``build/merge.yaml`` with each state machine's ASL file inlined.
3. ``chalice package --merge-template`` writes the SAM template and ``deployment.zip``.
4. Checks: every ``${Placeholder}`` in a definition has a substitution, every function role has a
   real policy, and cfn-lint reports no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from aftercare import infra

ROOT = infra.ROOT
VENDORED = ("functions", "templates")


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


def check_package(template: dict[str, Any]) -> None:
    problems = []
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


def build(out: Path, stage: str = "prod", lint: bool = True) -> Path:
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
    check_package(infra.load_template(template_path))
    if lint:
        cfn_lint = Path(sys.executable).parent / "cfn-lint"
        result = subprocess.run([str(cfn_lint), str(template_path)], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise PackagingError(
                f"cfn-lint found problems in {template_path}:\n{result.stdout}{result.stderr}"
            )
    return template_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the production CloudFormation package")
    parser.add_argument("--out", default="build/package", type=Path)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--no-lint", action="store_true")
    args = parser.parse_args(argv)
    try:
        template = build(
            args.out if args.out.is_absolute() else ROOT / args.out, args.stage, not args.no_lint
        )
    except (PackagingError, subprocess.CalledProcessError) as error:
        sys.stderr.write(f"package: {error}\n")
        return 1
    sys.stdout.write(f"package: {template} and {template.parent / 'deployment.zip'} built; cfn-lint clean\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
