"""The export's rules on plain arrays: final labels, groups, splits, rebalancing, names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelaudit.core import issues_types as it
from labelaudit.core.errors import InputError
from labelaudit.core.export import labels as lab
from labelaudit.core.export.groups import keep_one_per_duplicate_group, merge_groups
from labelaudit.core.export.names import FolderNames, class_folders, safe_component
from labelaudit.core.export.options import ExportOptions, parse_formats, parse_splits
from labelaudit.core.export.rebalance import class_weights, rebalance
from labelaudit.core.export.splits import (
    assign_splits,
    class_targets,
    split_deviations,
    splits_from_column,
    straddling_groups,
)

FRACTIONS = (0.8, 0.1, 0.1)


def _facts(n: int, **changes: object) -> lab.ReviewFacts:
    base = lab.ReviewFacts.empty(n)
    fields = {name: getattr(base, name).copy() for name in lab.ReviewFacts.__dataclass_fields__}
    for name, values in changes.items():
        fields[name][:] = values
    return lab.ReviewFacts(**fields)


# -- final labels ------------------------------------------------------------------------------
def _scenario() -> tuple[np.ndarray, np.ndarray, lab.ReviewFacts]:
    """Rows: 0 unflagged, 1 lead relabel, 2 consensus relabel, 3 lead drop, 4 flagged p=0.9,
    5 flagged p=0.3, 6 waiting for votes (1 vote), 7 needs lead, 8 broken, 9 consensus drop."""
    given_ = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    status = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 0], dtype=np.uint8)
    facts = _facts(
        10,
        flagged=[0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        suggested=[0, 1, 1, 1, 2, 2, 1, 1, 1, 1],
        suggested_prob=[0.9, 0.9, 0.9, 0.9, 0.9, 0.3, 0.95, 0.95, 0.95, 0.9],
        state=[
            it.UNFLAGGED,
            it.RESOLVED,
            it.AGREED,
            it.DROPPED,
            it.NEEDS_VOTES,
            it.NEEDS_VOTES,
            it.NEEDS_VOTES,
            it.NEEDS_LEAD,
            it.BROKEN,
            it.DROPPED,
        ],
        decided=[-1, 2, 1, -1, -1, -1, -1, -1, -1, -1],
        decided_by=["", "lead", "consensus", "lead", "", "", "", "", "", "consensus"],
        dropped=[0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
        n_votes=[0, 3, 3, 0, 0, 0, 1, 3, 0, 3],
    )
    return given_, status, facts


@pytest.mark.parametrize(
    ("policy", "final", "excluded"),
    [
        ("keep", [0, 2, 1, -1, 0, 0, 0, 0, -1, -1], {3: "dropped_by_lead", 8: "broken"}),
        (
            "exclude-flagged",
            [0, 2, 1, -1, -1, -1, -1, -1, -1, -1],
            {
                3: "dropped_by_lead",
                4: "flagged_unreviewed",
                5: "flagged_unreviewed",
                6: "flagged_unreviewed",
                7: "flagged_unreviewed",
                8: "broken",
            },
        ),
        (
            "auto-fix",
            [0, 2, 1, -1, 2, -1, 1, 1, -1, -1],
            {3: "dropped_by_lead", 5: "auto_fix_below_threshold", 8: "broken"},
        ),
    ],
)
def test_lead_then_consensus_then_policy(policy: str, final: list[int], excluded: dict) -> None:
    given_, status, facts = _scenario()
    out = lab.decide_final_labels(given_, status, facts, policy=policy, auto_fix_threshold=0.5)
    assert out.final.tolist() == final
    expected = {**excluded, 9: "dropped_by_consensus"}
    assert {i: str(r) for i, r in enumerate(out.excluded) if r} == expected
    assert out.source[1] == "lead" and out.source[2] == "consensus"
    assert out.source[0] == "given"
    # Waiting for votes (with a vote) or for a lead: unresolved, whatever the policy did.
    assert np.flatnonzero(out.unresolved).tolist() == [6, 7]
    if policy == "auto-fix":
        assert out.source[4] == "auto-fix"
    if policy == "keep":
        assert out.source[4] == "unreviewed-keep"


@pytest.mark.parametrize("policy", ["exclude-flagged", "auto-fix"])
def test_only_flagged_or_lead_requested_images_follow_the_policy(policy: str) -> None:
    """Rows: 0 unflagged with one "keep" vote, 1 unflagged that a lead put into review (no vote),
    2 unflagged, lead-requested, one vote; 3 unflagged, untouched."""
    given_ = np.array([0, 1, 1, 2])
    status = np.zeros(4, dtype=np.uint8)
    facts = _facts(
        4,
        state=[it.NEEDS_VOTES, it.NEEDS_VOTES, it.NEEDS_VOTES, it.UNFLAGGED],
        n_votes=[1, 0, 1, 0],
        lead_requested=[0, 1, 1, 0],
    )
    out = lab.decide_final_labels(given_, status, facts, policy=policy, auto_fix_threshold=0.5)
    # A vote alone questions nothing: the image keeps its label, and is listed as unresolved.
    assert out.final[0] == 0 and out.source[0] == "given" and out.excluded[0] == ""
    assert out.final[3] == 2 and out.source[3] == "given"
    # Put into review by a lead and not settled: the policy (no suggestion: left out either way).
    assert out.excluded[1] != "" and out.excluded[2] != ""
    assert out.in_review.tolist() == [False, True, True, False]
    assert np.flatnonzero(out.unresolved).tolist() == [0, 2]
    keep = lab.decide_final_labels(given_, status, facts, policy="keep", auto_fix_threshold=0.5)
    assert keep.source.tolist() == ["given", "unreviewed-keep", "unreviewed-keep", "given"]


def test_threshold_is_inclusive_and_broken_never_exported() -> None:
    given_ = np.array([0, 0, 1])
    status = np.array([0, 2, 0], dtype=np.uint8)
    facts = _facts(3, flagged=[1, 1, 0], suggested=[1, 1, 1], suggested_prob=[0.7, 0.99, 0.9])
    out = lab.decide_final_labels(given_, status, facts, policy="auto-fix", auto_fix_threshold=0.7)
    assert out.final.tolist() == [1, -1, 1]
    assert out.excluded.tolist() == ["", "missing", ""]


# -- groups ------------------------------------------------------------------------------------
def test_merge_groups_is_transitive() -> None:
    exact = np.array([0, 0, -1, -1, 1, 1, -1])
    near = np.array([-1, 5, 5, -1, -1, -1, 7])
    merged = merge_groups(exact, near)
    assert merged[0] == merged[1] == merged[2]
    assert merged[4] == merged[5]
    assert len({merged[0], merged[3], merged[4], merged[6]}) == 4


def test_keep_one_prefers_the_most_trusted_decision() -> None:
    dup = np.array([0, 0, 0, -1])
    included = np.array([True, True, True, True])
    source = np.array(["given", "lead", "given", "given"])
    drop, kept = keep_one_per_duplicate_group(dup, included, source, np.array([1, 2, 3, 4]))
    assert drop.tolist() == [True, False, True, False]
    assert kept.tolist() == [1, -1, 1, -1]


# -- splits ------------------------------------------------------------------------------------
def test_targets_stay_within_one_image_and_balance_globally() -> None:
    counts = np.array([5] * 10 + [1, 2, 3, 997])
    targets = class_targets(counts, FRACTIONS)
    assert (targets.sum(axis=1) == counts).all()
    share = counts[:, None] * np.array(FRACTIONS)[None, :]
    assert (np.abs(targets - share) < 1 + 1e-9).all()
    # Ten classes of five with 0.5 remainders: val and test share them instead of one of them
    # getting all ten.
    assert abs(int(targets[:10, 1].sum()) - int(targets[:10, 2].sum())) <= 1


def test_singletons_split_exactly_and_seed_decides() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 500)
    groups = np.arange(500)
    split = assign_splits(labels, groups, FRACTIONS, seed=3)
    assert split_deviations(labels, split, groups, FRACTIONS, ("train", "val", "test")) == []
    assert (assign_splits(labels, groups, FRACTIONS, seed=3) == split).all()
    assert (assign_splits(labels, groups, FRACTIONS, seed=4) != split).any()


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 3), min_size=1, max_size=80),
    group_seed=st.integers(0, 10_000),
    n_groups=st.integers(1, 80),
    two_parts=st.booleans(),
)
def test_groups_never_straddle_and_deviations_are_reported(
    labels: list[int], group_seed: int, n_groups: int, two_parts: bool
) -> None:
    lab_arr = np.array(labels)
    groups = np.random.default_rng(group_seed).integers(0, n_groups, lab_arr.size)
    fractions = (0.7, 0.3) if two_parts else FRACTIONS
    names = ("train", "val") if two_parts else ("train", "val", "test")
    split = assign_splits(lab_arr, groups, fractions, seed=0)
    assert (split >= 0).all() and (split < len(fractions)).all()
    assert straddling_groups(groups, split) == 0
    reported = {
        (d.class_index, d.split) for d in split_deviations(lab_arr, split, groups, fractions, names)
    }
    for c in np.unique(lab_arr):
        counts = np.bincount(split[lab_arr == c], minlength=len(fractions))
        for s, name in enumerate(names):
            off = abs(counts[s] - (lab_arr == c).sum() * fractions[s]) > 1 + 1e-9
            assert off == ((int(c), name) in reported)


def test_imported_split_column() -> None:
    split, names = splits_from_column(["train", "Validation", "test", "dev", "training"])
    assert names == ("train", "val", "test")
    assert split.tolist() == [0, 1, 2, 1, 0]
    with pytest.raises(InputError, match="no split value"):
        splits_from_column(["train", None])
    with pytest.raises(InputError, match="holdout"):
        splits_from_column(["train", "holdout"])


# -- rebalancing and weights -------------------------------------------------------------------
def test_oversample_and_undersample() -> None:
    labels = np.array([0] * 6 + [1] * 2 + [2] * 3)
    over = rebalance(labels, mode="oversample", seed=0)
    total = np.bincount(np.concatenate([labels, labels[over.repeat_of]]))
    assert total.tolist() == [6, 6, 6]
    # Class 1 (2 images, 4 repeats): each image repeated twice, numbered 2 and 3.
    ones = over.repeat_of[labels[over.repeat_of] == 1]
    assert sorted(np.bincount(ones).tolist())[-2:] == [2, 2]
    assert set(over.repeat_number[labels[over.repeat_of] == 1].tolist()) == {2, 3}
    under = rebalance(labels, mode="undersample", seed=0)
    assert np.bincount(labels[~under.left_out]).tolist() == [2, 2, 2]
    assert (rebalance(labels, mode="undersample", seed=0).left_out == under.left_out).all()


def test_undersample_leaves_out_unreviewed_rows_before_decided_ones() -> None:
    labels = np.array([0] * 8 + [1] * 3)
    decided = np.zeros(11, dtype=bool)
    decided[[0, 2, 5]] = True  # three class-0 rows a lead or a consensus settled
    for seed in range(5):
        under = rebalance(labels, mode="undersample", seed=seed, keep_first=decided)
        assert np.bincount(labels[~under.left_out]).tolist() == [3, 3]
        assert not under.left_out[decided].any()
        again = rebalance(labels, mode="undersample", seed=seed, keep_first=decided)
        assert (again.left_out == under.left_out).all()
    # More decided rows than the target: every other row goes first, then decided ones.
    decided[[1, 3]] = True
    under = rebalance(labels, mode="undersample", seed=0, keep_first=decided)
    assert under.left_out[labels == 0].sum() == 5
    assert under.left_out[(labels == 0) & ~decided].all()


def test_class_weights_formula() -> None:
    counts = np.array([60, 20, 20, 0])
    w = class_weights(counts)
    assert w[:3] == pytest.approx([100 / (3 * 60), 100 / (3 * 20), 100 / (3 * 20)])
    assert w[3] == 0
    assert (counts * w).sum() == pytest.approx(counts.sum())


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("cat", "cat"),
        ("a/b", "a_b"),
        ("..", "_"),
        (".hidden", "_hidden"),
        ("bell\x07", "bell_"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("what?", "what_"),
        ("trailing. ", "trailing"),
        ("", "_"),
    ],
)
def test_safe_component(name: str, safe: str) -> None:
    assert safe_component(name) == safe


def test_class_folder_clashes_are_resolved_case_insensitively() -> None:
    folders = class_folders(["Cat", "a/b", "a_b", "cat"])
    assert folders == {"Cat": "Cat", "a/b": "a_b", "a_b": "a_b_2", "cat": "cat_2"}


def test_file_names_never_clash() -> None:
    names = FolderNames()
    assert names.claim("001", ".JPG", image_id=7) == "001.jpg"
    assert names.claim("001", ".jpg", image_id=9) == "001__id9.jpg"  # relabelled cat/001.jpg
    assert names.claim_repeat("001.jpg", 2, image_id=7) == "001__rep2.jpg"
    assert names.claim("001__rep2", ".jpg", image_id=11) == "001__rep2__id11.jpg"


def test_options_are_validated() -> None:
    assert parse_splits("80,10,10") == (0.8, 0.1, 0.1)
    assert parse_splits("0.9,0.1") == (0.9, 0.1)
    assert parse_formats("csv, imagefolder,csv") == ("csv", "imagefolder")
    for bad in ("0.5,0.2", "1", "a,b", "0.5,0.3,0.1,0.1", "0,0.5,0.5"):
        with pytest.raises(InputError):
            parse_splits(bad)
    with pytest.raises(InputError, match="--format"):
        parse_formats("imagefolder,coco")
    with pytest.raises(InputError, match="auto-fix-threshold"):
        ExportOptions(auto_fix_threshold=1.5)
    assert ExportOptions(splits=(0.9, 0.1)).split_names == ("train", "val")
    with pytest.raises(InputError, match="--seed must be >= 0; got -1"):
        ExportOptions(seed=-1)
