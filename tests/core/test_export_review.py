"""Exports of projects in mid-review: votes on unflagged images, images a lead put into review,
undersampling next to the team's decisions, and what CHANGES.md says about them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export_helpers import by_source, export, ids_by_path, make_project, read_manifest, store_scan
from labelaudit.core.consensus.annotators import LEAD, add_annotator
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.consensus.review_add import add_to_review
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.export import labels as lab
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.export.plan import build_plan
from labelaudit.core.export.report import changes_markdown
from labelaudit.core.project import Project


@pytest.fixture
def project(tmp_path: Path):
    proj = make_project(tmp_path, {"cat": 10, "dog": 8, "owl": 4})
    add_annotator(proj.store, "lena", role=LEAD)
    for who in ("ann", "bob", "cem"):
        add_annotator(proj.store, who)
    yield proj
    proj.close()


def _vote(project: Project, who: str, path: str, decision: str) -> None:
    image_id = ids_by_path(project)[path]
    cast_vote(
        project.store, annotator=who, image_id=image_id, decision=decision, suggestion_shown=False
    )


def test_votes_alone_do_not_put_an_unflagged_image_under_the_policy(
    project: Project, tmp_path: Path
) -> None:
    store_scan(project, flagged={"cat/0001.png": ("dog", 0.9)})
    _vote(project, "ann", "cat/0000.png", "keep")  # not flagged: a "keep" vote only
    _vote(project, "ann", "cat/0001.png", "drop")  # flagged, one drop vote so far
    _vote(project, "bob", "cat/0001.png", "unsure")
    add_to_review(project.store, [ids_by_path(project)["dog/0000.png"]], lead="lena")

    out = tmp_path / "out"
    result = export(project, out)  # default: exclude-flagged
    rows = by_source(read_manifest(out))
    assert rows["cat/0000.png"]["label"] == "cat"
    assert rows["cat/0000.png"]["decision_source"] == "given"
    assert "cat/0001.png" not in rows  # flagged, unsettled: left out
    assert "dog/0000.png" not in rows  # a lead put it into review, unsettled: left out
    assert result.counts["excluded"] == {"flagged_unreviewed": 2}
    changes = (out / "CHANGES.md").read_text(encoding="utf-8")
    unresolved = changes.split("## Unresolved", 1)[1]
    assert "| cat/0000.png | needs_votes | votes ann: cat | cat |" in unresolved
    # Drop and unsure votes are named (not blanks).
    assert "votes ann: drop, bob: unsure" in changes

    fixed = tmp_path / "fixed"
    export(project, fixed, unreviewed="auto-fix", auto_fix_threshold=0.5)
    rows = by_source(read_manifest(fixed))
    assert rows["cat/0000.png"]["label"] == "cat"  # still its given label
    assert rows["cat/0001.png"]["label"] == "dog"  # flagged: auto-fixed
    # Lead-requested: the policy too (the scan's confident suggestion is its own label).
    assert rows["dog/0000.png"]["decision_source"] == "auto-fix"
    assert rows["cat/0000.png"]["decision_source"] == "given"


def test_an_image_a_lead_adds_after_a_vote_follows_the_policy(
    project: Project, tmp_path: Path
) -> None:
    store_scan(project)  # nothing flagged
    _vote(project, "ann", "cat/0002.png", "keep")
    add_to_review(project.store, [ids_by_path(project)["cat/0002.png"]], lead="lena")
    out = tmp_path / "out"
    export(project, out)  # exclude-flagged: the lead asked for votes that are not in yet
    assert "cat/0002.png" not in by_source(read_manifest(out))


def test_undersampling_keeps_the_teams_decisions_first(project: Project, tmp_path: Path) -> None:
    ids = ids_by_path(project)
    store_scan(project, flagged={"dog/0002.png": ("cat", 0.95), "dog/0003.png": ("cat", 0.95)})
    resolve(project.store, lead="lena", image_id=ids["dog/0000.png"], decision="cat")
    resolve(project.store, lead="lena", image_id=ids["cat/0000.png"], decision="cat")
    for who in ("ann", "bob", "cem"):
        _vote(project, who, "dog/0001.png", "cat")  # a consensus relabel
    options = ExportOptions(unreviewed="auto-fix", rebalance="undersample")
    plan = build_plan(project.store, options)
    source, final, given = plan.final.source, plan.final.final, plan.final.given
    decided = (source == lab.SOURCE_LEAD) | (source == lab.SOURCE_CONSENSUS)
    assert decided.sum() == 3
    train_rows = {e.row for e in plan.entries if e.split == "train"}
    left_out = plan.excluded == lab.OUT_UNDERSAMPLED
    in_train = np.zeros(len(final), dtype=bool)
    in_train[list(train_rows)] = True
    in_train |= left_out
    for c in np.unique(final[left_out]):
        members = in_train & (final == c)
        kept = members & ~left_out
        # Only rows nobody decided are left out while the class still has such rows to spare.
        assert not (left_out & decided & (final == c)).any() or (kept & ~decided).sum() == 0
    assert not (left_out & decided).any()  # here the decided rows fit within the target
    assert left_out.any()

    changes = changes_markdown(plan, created_at="now", project_name="p")
    paths = plan.catalog.paths
    assert paths is not None
    left = changes.split("## Left out", 1)[1]
    shown = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")[1]
        for line in left.splitlines()
        if "--rebalance undersample" in line
    }
    assert len(shown) == int(left_out.sum())
    relabelled_out = 0
    for r in np.flatnonzero(left_out):
        final_name, given_name = plan.folder_of(int(final[r])), plan.folder_of(int(given[r]))
        if final[r] == given[r]:
            assert shown[paths[r]] == final_name
        else:  # an auto-fixed image: its final label, then the given one
            assert shown[paths[r]] == f"{final_name} (given {given_name})"
            relabelled_out += 1
    assert relabelled_out > 0  # the seed leaves out an auto-fixed dog -> cat image
