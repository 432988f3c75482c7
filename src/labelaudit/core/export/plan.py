"""Everything an export decides before it writes a byte: labels, groups, splits, rebalancing,
weights and file names. Building the plan reads the store only; ``write.py`` carries it out.

Vocabulary: N catalog rows (every image of the project), K classes in the project's order
(sorted names). The export numbers classes by its folder names (``export_index``), because that
is the order torchvision's ImageFolder uses; ``classes.json`` records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from labelaudit.core.dataset.catalog import Catalog, load_catalog
from labelaudit.core.export import labels as lab
from labelaudit.core.export.files import CONVERT_TO_PNG
from labelaudit.core.export.groups import (
    conflicting_groups,
    keep_one_per_duplicate_group,
    merge_groups,
)
from labelaudit.core.export.names import FolderNames, class_folders, split_name
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.export.rebalance import RETRAIN_BALANCING, class_weights, rebalance
from labelaudit.core.export.review_facts import ReviewContext, gather_review
from labelaudit.core.export.splits import (
    Deviation,
    assign_splits,
    split_deviations,
    splits_from_column,
    straddling_groups,
)
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.store.engine import Store


@dataclass(frozen=True)
class Entry:
    """One manifest row. ``repeat`` is 1 for an image's own row, 2.. for oversampled copies."""

    split: str
    row: int  # catalog row
    label: int  # final class, project index
    repeat: int
    weight: float
    dest: str  # path under DIR ('' when the imagefolder layout is not written)


@dataclass
class ExportPlan:
    options: ExportOptions
    catalog: Catalog
    review: ReviewContext
    final: lab.FinalLabels
    excluded: np.ndarray  # str (N,): FinalLabels.excluded plus dedupe and undersampling
    duplicate_of: np.ndarray  # int64 (N,): the kept row for a deduplicated row, else -1
    split_names: tuple[str, ...]
    entries: list[Entry]
    folders: dict[str, str]  # class name -> folder name
    export_index: np.ndarray  # int64 (K,): project class index -> export class index
    weights: np.ndarray  # float64 (K,) by project index, from the train split as written
    deviations: list[Deviation] = field(default_factory=list)
    straddling: int = 0  # duplicate groups split across splits (only with --keep-splits)
    warnings: list[str] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        return self.catalog.class_names

    @property
    def retrain_balancing(self) -> str:
        return RETRAIN_BALANCING[self.options.rebalance]

    def folder_of(self, class_index: int) -> str:
        return self.folders[self.class_names[class_index]] if class_index >= 0 else ""


def build_plan(
    store: Store, options: ExportOptions, *, progress: Progress | None = None
) -> ExportPlan:
    progress = progress or NullProgress()
    with progress.step("plan the export", total=None):
        catalog = load_catalog(store, with_paths=True, with_splits=options.keep_splits)
        review = gather_review(store, catalog.image_ids, method=options.consensus)
        final = lab.decide_final_labels(
            catalog.labels,
            catalog.status,
            review.facts,
            policy=options.unreviewed,
            auto_fix_threshold=options.auto_fix_threshold,
        )
        progress.update(images=len(catalog))
        return _plan(catalog, review, final, options)


def _plan(
    catalog: Catalog, review: ReviewContext, final: lab.FinalLabels, options: ExportOptions
) -> ExportPlan:
    excluded = final.excluded.copy()
    duplicate_of = np.full(len(catalog), -1, dtype=np.int64)
    in_groups = np.flatnonzero(final.included & (catalog.dup_group >= 0))
    conflicts = conflicting_groups(catalog.dup_group, final.final, in_groups)
    if options.dedupe == "keep-one":
        drop, kept = keep_one_per_duplicate_group(
            catalog.dup_group, final.included, final.source, catalog.image_ids
        )
        excluded[drop] = lab.OUT_DUPLICATE
        duplicate_of = kept
    groups = merge_groups(catalog.dup_group, review.near_dup_group)
    rows = np.flatnonzero(excluded == "")
    labels = final.final[rows]
    plan = ExportPlan(
        options=options,
        catalog=catalog,
        review=review,
        final=final,
        excluded=excluded,
        duplicate_of=duplicate_of,
        split_names=options.split_names,
        entries=[],
        folders=class_folders(catalog.class_names),
        export_index=np.zeros(0, dtype=np.int64),
        weights=np.zeros(len(catalog.class_names)),
    )
    split = _choose_splits(plan, rows, labels, groups[rows])
    _rebalance_and_name(plan, rows, labels, split)
    if conflicts:
        what = "kept the most trusted one" if options.dedupe == "keep-one" else "exported both"
        plan.warnings.append(
            f"{len(conflicts)} exact-duplicate groups carry different final labels (the same "
            f"bytes in two classes); --dedupe {options.dedupe} {what}: review them"
        )
    return plan


def _rebalance_and_name(
    plan: ExportPlan, rows: np.ndarray, labels: np.ndarray, split: np.ndarray
) -> None:
    """Rebalance the train split, weigh the classes on it as written, and name every file."""
    options, names = plan.options, plan.class_names
    train = split == 0
    source = plan.final.source[rows[train]]
    decided = (source == lab.SOURCE_LEAD) | (source == lab.SOURCE_CONSENSUS)
    balanced = rebalance(
        labels[train], mode=options.rebalance, seed=options.seed, keep_first=decided
    )
    plan.excluded[rows[train][balanced.left_out]] = lab.OUT_UNDERSAMPLED
    keep = np.ones(rows.size, dtype=bool)
    keep[np.flatnonzero(train)[balanced.left_out]] = False
    repeated = rows[train][balanced.repeat_of]
    k = len(names)
    train_counts = np.bincount(labels[train & keep], minlength=k) + np.bincount(
        plan.final.final[repeated], minlength=k
    )
    plan.weights = class_weights(train_counts)
    folder_order = {f: i for i, f in enumerate(sorted(plan.folders[c] for c in names))}
    plan.export_index = np.array([folder_order[plan.folders[c]] for c in names], dtype=np.int64)
    repeats = list(zip(repeated.tolist(), balanced.repeat_number.tolist()))
    plan.entries = _entries(plan, rows[keep], split[keep], repeats)
    _warn(plan, train_counts)


def _choose_splits(
    plan: ExportPlan, rows: np.ndarray, labels: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    options = plan.options
    if options.keep_splits:
        assert plan.catalog.splits is not None
        split, names = splits_from_column([plan.catalog.splits[r] for r in rows])
        plan.split_names = names
        plan.straddling = straddling_groups(groups, split)
        return split
    split = assign_splits(labels, groups, options.splits, seed=options.seed)
    plan.deviations = split_deviations(labels, split, groups, options.splits, options.split_names)
    return split


def _entries(
    plan: ExportPlan, rows: np.ndarray, split: np.ndarray, repeats: list[tuple[int, int]]
) -> list[Entry]:
    """Manifest rows sorted by split, class folder and source path; repeats after their image."""
    catalog = plan.catalog
    paths = catalog.paths
    assert paths is not None
    final = plan.final.final
    with_files = "imagefolder" in plan.options.formats
    repeat_numbers: dict[int, list[int]] = {}
    for row, number in repeats:
        repeat_numbers.setdefault(row, []).append(number)
    given = plan.final.given
    # Within a folder, images that keep their label claim names first: a relabelled cat/001.jpg
    # meeting dog/001.jpg is the one renamed (001__id<id>.jpg), whatever the path order.
    order = sorted(
        range(rows.size),
        key=lambda i: (
            int(split[i]),
            plan.folder_of(int(final[rows[i]])),
            bool(final[rows[i]] != given[rows[i]]),
            paths[rows[i]],
        ),
    )
    names: dict[tuple[int, int], FolderNames] = {}
    entries: list[Entry] = []
    for i in order:
        row, s, label = int(rows[i]), int(split[i]), int(final[rows[i]])
        weight = float(plan.weights[label]) if s == 0 else 1.0
        split_label = plan.split_names[s]
        if not with_files:
            entries.append(Entry(split_label, row, label, 1, weight, ""))
            entries.extend(
                Entry(split_label, row, label, n, weight, "")
                for n in sorted(repeat_numbers.get(row, []))
            )
            continue
        folder = names.setdefault((s, label), FolderNames())
        base = PurePosixPath(paths[row]).name
        stem, ext = split_name(base)
        if ext.lower() in CONVERT_TO_PNG:
            ext = ".png"
        name = folder.claim(stem, ext, image_id=int(catalog.image_ids[row]))
        prefix = f"{split_label}/{plan.folder_of(label)}"
        entries.append(Entry(split_label, row, label, 1, weight, f"{prefix}/{name}"))
        for n in sorted(repeat_numbers.get(row, [])):
            rep = folder.claim_repeat(name, n, image_id=int(catalog.image_ids[row]))
            entries.append(Entry(split_label, row, label, n, weight, f"{prefix}/{rep}"))
    return entries


def _warn(plan: ExportPlan, train_counts: np.ndarray) -> None:
    renamed = {c: f for c, f in plan.folders.items() if c != f}
    if renamed:
        listed = ", ".join(f"{c!r} -> {f!r}" for c, f in list(renamed.items())[:5])
        plan.warnings.append(f"class names changed to be safe folder names: {listed}")
    empty = [c for c, n in zip(plan.class_names, train_counts) if n == 0]
    if empty:
        plan.warnings.append(f"classes with no training image: {', '.join(empty[:10])}")
    _warn_empty_splits(plan)
    no_scan = _no_scan_warning(plan)
    if no_scan:
        plan.warnings.append(no_scan)
    if plan.straddling:
        plan.warnings.append(
            f"{plan.straddling} duplicate groups straddle the imported splits (--keep-splits): "
            "their members leak between train and evaluation"
        )
    beyond = [d for d in plan.deviations if not d.within_group_bound]
    if beyond:
        plan.warnings.append(
            f"{len(beyond)} class/split counts miss their share by more than expected"
        )


def _warn_empty_splits(plan: ExportPlan) -> None:
    """An empty val or test split, or a class missing from one, makes its score mean little."""
    per_split = {name: np.zeros(len(plan.class_names), dtype=np.int64) for name in plan.split_names}
    for e in plan.entries:
        if e.repeat == 1:
            per_split[e.split][e.label] += 1
    for name, counts in list(per_split.items())[1:]:  # train's empty classes are reported above
        if counts.sum() == 0:
            use = "to select the best epoch on" if name == "val" else "to score"
            plan.warnings.append(
                f"the {name} split is empty (too few images for its share): retraining has no "
                f"{name} images {use}"
            )
            continue
        absent = [plan.folders[c] for c, n in zip(plan.class_names, counts) if n == 0]
        if absent:
            plan.warnings.append(f"classes with no {name} image: {', '.join(absent[:10])}")


def _no_scan_warning(plan: ExportPlan) -> str:
    """What the policy cannot do without a scan (nothing is flagged), in its own words."""
    policy = plan.options.unreviewed
    if plan.review.scan is not None or policy == "keep":
        return ""
    requested = int(plan.final.in_review.sum())
    if policy == "exclude-flagged":
        text = "no finished scan: no image is flagged, so nothing is left out for review"
        extra = f" except the {requested} images a lead put into review and nobody settled"
    else:
        text = "no finished scan: no image is flagged and nothing is suggested, so nothing is "
        text += "auto-fixed"
        extra = f"; the {requested} images a lead put into review and nobody settled are left out"
    return text + extra if requested else text
