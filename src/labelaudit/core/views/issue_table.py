"""The per-image table behind ``labelaudit issues``: one row per scanned image.

Order ``quality`` (default): flagged images first (architecture.md §5: a label issue, or an issue
type the project reviews), then by ascending label quality, ties by image id. Order ``path``: the
documented row order of ``--pred-probs`` .npy files (valid images sorted by path). Without
``all_images`` only images with some issue type (label, near_duplicate, outlier, dark, light,
blurry, odd_size) are listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelaudit.core.audit import inputs
from labelaudit.core.codes import ISSUE_BITS, Issue, issue_names
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.settings import read_all as read_settings
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import LIGHT_ARRAYS, ScanResults, load_results
from labelaudit.core.views.staleness import scan_staleness

COLUMNS = (
    "path",
    "given_label",
    "suggested_label",
    "suggested_prob",
    "label_quality",
    "is_label_issue",
    "issue_types",
    "flagged",
    "excluded",
    "near_dup_group",
    "outlier_score",
    "image_id",
)
ORDERS = ("quality", "path")


@dataclass
class IssueTable:
    scan_id: int | None  # None: no scan yet (only the row order is listed)
    stale: list[str]
    columns: tuple[str, ...]
    paths: list[str]  # (R,) listed rows
    values: dict[str, np.ndarray] = field(default_factory=dict)  # column -> (R,) array
    class_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def rows(self) -> Iterator[list[Any]]:
        """Each row as plain values (class names, floats, bools, ``;``-joined issue types)."""
        names = self.class_names
        v = self.values
        for i, path in enumerate(self.paths):
            if self.scan_id is None:
                yield [path, names[v["given"][i]], *[None] * (len(self.columns) - 2)]
                continue
            outlier = v["outlier_score"][i] if "outlier_score" in v else None
            yield [
                path,
                names[v["given"][i]],
                names[v["suggested"][i]],
                float(v["suggested_prob"][i]),
                float(v["label_quality"][i]),
                bool(v["is_label_issue"][i]),
                ";".join(issue_names(int(v["issue_flags"][i]))),
                bool(v["flagged"][i]),
                bool(v["excluded"][i]),
                int(v["near_dup_group"][i]),
                None if outlier is None else float(outlier),
                int(v["image_id"][i]),
            ]


def review_bits(review_types: list[str]) -> int:
    return sum(ISSUE_BITS[name] for name in review_types)


def flagged_mask(issue_flags: np.ndarray, review_types: list[str]) -> np.ndarray:
    """bool (N,): flagged per architecture.md §5 (a label issue, or a reviewed issue type)."""
    bits = review_bits(review_types) | Issue.LABEL
    return (issue_flags & bits) != 0


def issue_table(store: Store, *, all_images: bool = False, order: str = "quality") -> IssueTable:
    if order not in ORDERS:
        raise InputError(f"unknown order {order!r}; choose {' or '.join(ORDERS)}")
    extra = ("excluded", "near_dup_group", "outlier_score")
    results = load_results(store, names=LIGHT_ARRAYS + extra)
    if results is None:
        if all_images and order == "path":
            return _row_order_only(store)
        raise InputError(
            "no finished scan yet: run 'labelaudit scan PROJECT' first ('issues --all --order "
            "path' lists the row order that a --pred-probs .npy must follow)"
        )
    with store.read() as conn:
        review_types = list(read_settings(conn)["review_issue_types"])
    stale = scan_staleness(store, [results.scan_id]).get(results.scan_id, [])
    return _scan_table(store, results, review_types, stale, all_images=all_images, order=order)


def _row_order_only(store: Store) -> IssueTable:
    catalog = load_catalog(store, valid_only=True)
    assert catalog.paths is not None
    order = inputs.documented_row_order(catalog.paths)
    return IssueTable(
        scan_id=None,
        stale=[],
        columns=COLUMNS,
        paths=[catalog.paths[int(i)] for i in order],
        values={"given": catalog.labels[order]},
        class_names=catalog.class_names,
    )


def _scan_table(
    store: Store,
    results: ScanResults,
    review_types: list[str],
    stale: list[str],
    *,
    all_images: bool,
    order: str,
) -> IssueTable:
    arrays = results.arrays
    n = results.n
    catalog = load_catalog(store, with_paths=True)
    assert catalog.paths is not None
    where = np.searchsorted(catalog.image_ids, arrays["image_ids"])
    paths = [catalog.paths[int(i)] for i in where]
    flags = arrays["issue_flags"]
    flagged = flagged_mask(flags, review_types)
    if order == "path":
        rows = inputs.documented_row_order(paths)
    else:
        rows = np.lexsort((arrays["image_ids"], arrays["label_quality"], ~flagged))
    if not all_images:
        rows = rows[flags[rows] != 0]
    values = {
        "given": arrays["labels"][rows],
        "suggested": arrays["suggested"][rows],
        "suggested_prob": arrays["suggested_prob"][rows],
        "label_quality": arrays["label_quality"][rows],
        "is_label_issue": arrays["is_label_issue"][rows],
        "issue_flags": flags[rows],
        "flagged": flagged[rows],
        "excluded": arrays.get("excluded", np.zeros(n, dtype=bool))[rows],
        "near_dup_group": arrays.get("near_dup_group", np.full(n, -1))[rows],
        "image_id": arrays["image_ids"][rows],
    }
    if "outlier_score" in arrays:
        values["outlier_score"] = arrays["outlier_score"][rows]
    return IssueTable(
        scan_id=results.scan_id,
        stale=stale,
        columns=COLUMNS,
        paths=[paths[int(i)] for i in rows],
        values=values,
        class_names=results.class_names,
    )
