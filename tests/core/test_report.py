"""The audit report in each project state: import only, scanned without votes, reviewed and
exported. Real projects (SQLite), a real ``--pred-probs`` scan, real votes and a real export."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import report_projects as rp

from export_helpers import make_project
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project
from labelaudit.core.report.build import make_report
from labelaudit.core.usecases.scan import ScanRequest, run_scan
from labelaudit.core.views.findings import scan_report

pytest.importorskip("matplotlib")


def _sources(text: str) -> list[str]:
    return re.findall(r'\s(?:src|href)="([^"]*)"', text)


def assert_self_contained(text: str) -> None:
    """No script, no stylesheet or font from elsewhere: every image is a data: URI and every
    link points inside the page."""
    assert "<script" not in text.lower()
    assert "@import" not in text and "url(" not in text
    for value in _sources(text):
        assert value.startswith(("data:image/", "#")), value[:80]


def test_import_only_project_has_the_import_facts(tmp_path: Path) -> None:
    project = rp.imported(tmp_path)
    result = make_report(project, tmp_path / "report.html")
    text = result.path.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "No scan yet" in text
    assert f"{sum(rp.COUNTS.values())} valid images in 3 classes" in text
    assert text.count('class="chart"') == 1  # class sizes only
    assert "<figure" not in text  # no scan: no flagged images to show
    commands = re.search(r"<pre>(.*?)</pre>", text, re.S).group(1)
    assert "labelaudit init" in commands and "labelaudit scan" not in commands
    assert result.facts.scan is None and result.facts.export is None
    project.close()


def test_scanned_project_shows_what_summary_says_and_the_planted_errors(
    tmp_path: Path, backend: str | None
) -> None:
    project = rp.scanned(tmp_path, db_url=backend)
    result = make_report(project, tmp_path / "report.html")
    text = result.path.read_text(encoding="utf-8")
    assert_self_contained(text)
    summary = scan_report(project.store)  # what 'labelaudit summary' prints
    assert html.escape(summary["headline"]) in text
    for finding in summary["findings"]:
        assert html.escape(finding["text"]) in text
    # Charts: class sizes, noise per class, noise matrix, label quality.
    assert text.count('class="chart"') == 4
    worst = {ref.path: ref for ref in result.facts.scan.worst}
    for path, truth in rp.WRONG.items():
        assert worst[path].suggested == truth
        assert f'title="{path}"' in text
    assert all(uri for uri in re.findall(r'<img src="(data:[^"]*)" width="72"', text))
    assert len(re.findall(r'<img src="data:image/[a-z]+;base64,', text)) >= len(rp.WRONG)
    # The near-duplicate twins with different labels form one conflict group.
    groups = result.facts.scan.conflict_groups
    assert [sorted(r.path for r in g) for g in groups] == [sorted(rp.TWINS)]
    assert result.facts.scan.conflict_labels == ["cat ×1, owl ×1"]
    assert "No votes and no lead decisions yet" in text
    assert "retrain.py" in text and "Not exported yet" in text
    assert "--pred-probs" in text
    project.close()


def test_reviewed_and_exported_project_shows_the_team_and_the_export(tmp_path: Path) -> None:
    project, out = rp.exported(tmp_path)
    result = make_report(project, tmp_path / "report.html")
    text = result.path.read_text(encoding="utf-8")
    assert_self_contained(text)
    review = result.facts.review
    assert review is not None and review.votes == 6
    assert review.states["resolved"] == 1 and review.states["agreed"] == 2
    assert "Krippendorff" in text and "Fleiss" in text
    alpha = review.agreement["project"]["krippendorff_alpha"]
    assert f"{alpha:.3f}" in text
    for name in ("ann", "bob"):
        assert f"<td>{name}</td>" in text
    assert "lea: cat" in text  # the lead's decision on the tie
    export = result.facts.export
    assert export is not None and export.out_dir == out
    assert f"What export #{export.export_id} changed" in text
    assert str(out / "CHANGES.md") in text
    assert f"After export #{export.export_id} to {out}" in text  # sizes before and after
    after = export.counts["after"]
    assert sum(sum(split.values()) for split in after.values()) == export.counts["rows_written"]
    assert f"labelaudit export {project.folder} --out {out}" in text
    assert "retrain.py has not run on this export" in text
    project.close()


def test_written_atomically_replacing_an_older_report(tmp_path: Path) -> None:
    project = rp.imported(tmp_path)
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    make_report(project, target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(InputError, match="it is a folder"):
        make_report(project, tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        make_report(project, tmp_path / "nowhere" / "report.html")
    project.close()


def test_making_a_report_leaves_the_project_unchanged(tmp_path: Path) -> None:
    project = rp.scanned(tmp_path)
    db = project.folder / "labelaudit.db"
    project.close()
    before = db.read_bytes()
    with Project.open(project.folder) as again:
        make_report(again, tmp_path / "report.html")
    assert db.read_bytes() == before


def test_matplotlib_is_not_imported_by_the_cli_or_core_until_a_report_is_made() -> None:
    code = (
        "import sys, labelaudit.cli.main as m, labelaudit.core.report.build; m.build_parser(); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_many_classes_are_drawn_in_part_and_the_confusions_listed(tmp_path: Path) -> None:
    """45 classes: the bar charts draw the 40 largest (and say so), the heatmap's cells are too
    small for numbers, so the largest confusions are listed with their counts."""
    counts = {f"c{k:02d}": 3 + k % 4 for k in range(45)}
    project = make_project(tmp_path, counts)
    catalog = load_catalog(project.store, valid_only=True)
    paths = sorted(catalog.paths or [])
    names = sorted(counts)
    probs = np.full((len(paths), len(names)), 0.1 / len(names))
    for row, path in enumerate(paths):
        given = names.index(path.split("/")[0])
        probs[row, (given + 1) % len(names) if row % 5 == 0 else given] += 0.9
    np.save(tmp_path / "p.npy", probs.astype(np.float32))
    run_scan(
        project.store,
        project.image_root,
        ScanRequest(pred_probs=tmp_path / "p.npy", min_class_size=1),
    )
    text = make_report(project, tmp_path / "report.html").path.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "The 40 largest of 45 classes are drawn." in text
    assert "<th>given</th><th>likely</th>" in text  # the largest confusions, as a table
    project.close()
