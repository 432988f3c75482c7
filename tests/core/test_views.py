"""The grid's arrays: order, filters, class layout, noise-matrix cells, review states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gui.scans import store_scan  # tests/ is on the path; the helper needs no Qt
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.views import (
    SHOWN,
    SLOT_HEADER,
    SLOT_IMAGE,
    Filters,
    build_view,
    filter_mask,
    load_review_data,
    needs_me,
    next_in_view,
    noise_matrix,
    shown_states,
    slot_layout,
)

SUGGESTED = {"cat/0001.png": "dog", "cat/0004.png": "owl", "dog/0002.png": "cat"}


@pytest.fixture
def project(tmp_path: Path, tiny_tree: Path, backend: str | None):
    proj = Project.create(tmp_path / "proj", tiny_tree, db_url=backend)
    proj.import_images()
    store_scan(proj, suggested=SUGGESTED)
    yield proj
    proj.close()


def _paths(data, rows) -> list[str]:
    return [data.path(int(r)) for r in rows]


def test_grid_order_groups_classes_flagged_first(project: Project) -> None:
    data = load_review_data(project.store)
    assert data.n == 15 and data.class_names == ["cat", "dog", "owl"]
    view = build_view(data, filter_mask(data, Filters()))
    assert view.class_offsets.tolist() == [0, 6, 11, 15, 15]
    ordered = _paths(data, view.rows)
    # Flagged first inside a class, in ascending label quality (synthetic: id order).
    assert ordered[:6] == [
        "cat/0001.png",
        "cat/0004.png",
        "cat/0000.png",
        "cat/0002.png",
        "cat/0003.png",
        "cat/0005.png",
    ]
    assert ordered[6] == "dog/0002.png"
    assert data.suggested[data.row_of(np.array([data.image_ids[int(view.rows[0])]]))[0]] == 1


def test_each_filter(project: Project) -> None:
    data = load_review_data(project.store)
    shown = shown_states(data, blind=True, is_lead=False)

    def rows(**kw) -> list[str]:
        return sorted(_paths(data, np.flatnonzero(filter_mask(data, Filters(**kw), shown))))

    assert rows(flagged_only=True) == sorted(SUGGESTED)
    assert rows(issue="label") == sorted(SUGGESTED)
    assert rows(issue="broken") == []
    assert rows(given=1) == [f"dog/{i:04d}.png" for i in range(5)]
    assert rows(suggested=2) == ["cat/0004.png", *[f"owl/{i:04d}.png" for i in range(4)]]
    assert rows(search="DOG/0003") == ["dog/0003.png"]
    assert rows(search="0004.png") == ["cat/0004.png", "dog/0004.png"]
    assert rows(shown_state="needs my vote") == sorted(SUGGESTED)
    assert rows(given=0, suggested=1, flagged_only=True) == ["cat/0001.png"]


def test_noise_matrix_cells_are_exact_image_sets(project: Project) -> None:
    data = load_review_data(project.store)
    for flagged_only in (False, True):
        counts = noise_matrix(data, flagged_only=flagged_only)
        assert counts.sum() == (3 if flagged_only else 15)
        for g in range(3):
            for s in range(3):
                mask = filter_mask(data, Filters.for_cell(g, s, flagged_only=flagged_only))
                assert int(mask.sum()) == int(counts[g, s])
    assert noise_matrix(data)[0].tolist() == [4, 1, 1]


def test_slot_layout_starts_each_class_on_a_header_row(project: Project) -> None:
    data = load_review_data(project.store)
    view = build_view(data, filter_mask(data, Filters()))
    layout = slot_layout(view, 4)
    # cat: header + 2 rows, dog: header + 2 rows, owl: header + 1 row.
    assert len(layout) == (3 + 3 + 2) * 4
    assert layout.header_slot[:3].tolist() == [0, 12, 24]
    assert (layout.kind[layout.slot_of] == SLOT_IMAGE).all()
    assert (layout.kind[[0, 1, 2, 3, 12, 24]] == SLOT_HEADER).all()
    assert layout.ref[layout.slot_of].tolist() == list(range(15))
    empty = build_view(data, filter_mask(data, Filters(given=1)))
    assert slot_layout(empty, 3).header_slot.tolist() == [-1, 0, -1, -1]


def test_states_follow_votes_and_blind_mode(project: Project) -> None:
    ann = add_annotator(project.store, "ann")
    add_annotator(project.store, "bob")
    add_annotator(project.store, "cyd")  # still to vote: with 2 of 3 votes the image waits
    cat1 = int(load_review_data(project.store).image_ids[1])
    cast_vote(project.store, annotator="bob", image_id=cat1, decision="dog", suggestion_shown=True)
    data = load_review_data(project.store, annotator_id=ann.id)
    row = int(data.row_of(np.array([cat1]))[0])
    blind = shown_states(data, blind=True, is_lead=False)
    assert blind[row] == SHOWN["needs my vote"]  # bob's vote stays hidden
    cast_vote(project.store, annotator="ann", image_id=cat1, decision="keep", suggestion_shown=True)
    data = load_review_data(project.store, annotator_id=ann.id)
    assert data.my_vote[row] == 0
    shown = shown_states(data, blind=True, is_lead=False)
    assert shown[row] == SHOWN["voted"]  # 2 of 3 votes
    view = build_view(data, filter_mask(data, Filters(flagged_only=True)))
    wanted = needs_me(shown, is_lead=False)
    first = next_in_view(view, wanted, -1)
    assert data.path(int(view.rows[first])) == "cat/0004.png"


def test_paths_with_any_characters_and_search(tmp_path: Path) -> None:
    """Paths come back exactly (non-ASCII, spaces) and search finds them case-insensitively."""
    import time

    import sqlalchemy as sa

    from labelaudit.core.store.schema import classes, images

    root = tmp_path / "imgs"
    root.mkdir()
    proj = Project.create(tmp_path / "p", root)
    now = time.time()

    def fill(conn: sa.Connection) -> None:
        conn.execute(sa.insert(classes), [{"name": f"c{i}", "created_at": now} for i in range(5)])
        conn.execute(
            sa.insert(images),
            [
                {
                    "path": f"c{i % 5}/Ü {i}.jpg",
                    "class_id": i % 5 + 1,
                    "size": 1,
                    "mtime_ns": 0,
                    "status": "ok",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(2_000)
            ],
        )

    proj.store.write(fill)
    data = load_review_data(proj.store)
    assert data.n == 2_000 and data.path(1_999) == "c4/Ü 1999.jpg" and data.path(0) == "c0/Ü 0.jpg"
    assert data.search("ü 199").sum() == 11
    assert data.search("").all() and not data.search("nothing").any()
    proj.close()


def test_one_pred_probs_row_is_read_exactly(project: Project) -> None:
    from labelaudit.core.store.scan_results import load_results
    from labelaudit.core.views import scan_array_row

    full = load_results(project.store, names=("pred_probs",))
    assert full is not None
    for row in (0, 7, 14):
        one = scan_array_row(project.store, full.scan_id, "pred_probs", row)
        assert one is not None and np.array_equal(one, full.arrays["pred_probs"][row])
    assert scan_array_row(project.store, full.scan_id, "pred_probs", 15) is None
