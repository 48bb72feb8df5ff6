"""The checkov skip list (infra/checkov-skips.yaml): every skip says which check and why.

checkov itself runs in `make package` (about 16 s, in its own venv), not in this suite; the hardening it
checks is asserted on the packaged template in tests/integration/test_package.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftercare import packaging

pytestmark = pytest.mark.unit


def test_every_skip_names_a_check_and_gives_its_reason() -> None:
    skips = packaging.checkov_skips()
    assert skips, "the skip list is empty: then delete it and this test"
    for skip in skips:
        assert skip.check.startswith("CKV_AWS_"), skip
        assert len(skip.reason) >= packaging.MIN_REASON, skip.check
        assert skip.reason.endswith("."), skip.check  # a sentence, not a label
    assert len({s.check for s in skips}) == len(skips)


def test_the_skip_list_has_a_title_per_entry() -> None:
    import yaml

    for entry in yaml.safe_load(packaging.CHECKOV_SKIPS.read_text(encoding="utf-8")):
        assert str(entry.get("title", "")).strip(), entry["check"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- check: CKV_AWS_117\n", "reason"),
        ("- check: CKV_AWS_117\n  reason: not needed\n", "reason"),
        ("- check: VPC\n  reason: " + "x" * 60 + "\n", "checkov id"),
        ("- check: CKV_AWS_117\n  resources: APIHandler\n  reason: " + "x" * 60 + "\n", "logical ids"),
        (
            "- {check: CKV_AWS_1, reason: "
            + "x" * 60
            + "}\n- {check: CKV_AWS_1, reason: "
            + "y" * 60
            + "}\n",
            "twice",
        ),
        ("check: CKV_AWS_117\n", "list"),
    ],
)
def test_a_skip_without_a_reason_or_check_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    with pytest.raises(packaging.PackagingError, match=problem):
        packaging.checkov_skips(path)


def test_skips_are_written_where_checkov_reads_them() -> None:
    template = {"Resources": {"A": {"Type": "T"}, "B": {"Type": "T", "Metadata": {"x": 1}}}}
    skips = [
        packaging.Skip("CKV_AWS_1", "everywhere, for a reason written out in full."),
        packaging.Skip("CKV_AWS_2", "only B, for a reason written out in full.", ("B",)),
    ]
    scanned = packaging.with_skips(template, skips)
    assert scanned["Resources"]["A"]["Metadata"]["checkov"]["skip"] == [
        {"id": "CKV_AWS_1", "comment": "everywhere, for a reason written out in full."}
    ]
    assert [s["id"] for s in scanned["Resources"]["B"]["Metadata"]["checkov"]["skip"]] == [
        "CKV_AWS_1",
        "CKV_AWS_2",
    ]
    assert scanned["Resources"]["B"]["Metadata"]["x"] == 1
    with pytest.raises(packaging.PackagingError, match="CKV_AWS_2: C"):
        packaging.with_skips(template, [packaging.Skip("CKV_AWS_2", "a reason.", ("C",))])


def test_checkov_is_pinned_for_make_package() -> None:
    constraints = (packaging.ROOT / "constraints-checkov.txt").read_text(encoding="utf-8")
    assert "\ncheckov==" in constraints
    makefile = (packaging.ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-c constraints-checkov.txt checkov" in makefile
    assert "--checkov $(CHECKOV)" in makefile
