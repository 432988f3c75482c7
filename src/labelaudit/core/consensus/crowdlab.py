"""CROWDLAB: ``cleanlab.multiannotator.get_label_quality_multiannotator``, fed as
architecture.md §5 ("CROWDLAB in practice") says.

cleanlab raises on rows with no label, on annotator columns with no label, when every example has
a single label and on labels outside 0..K-1. So it runs on the items with at least one class vote,
over the annotators with at least one class vote there; drop and unsure are settled before (the
shared rule in ``methods``). When no item has two or more class votes, the majority method runs
instead and a note says so. Items without pred_probs (added after the scan: a nan row) get the
majority method too. pred_probs are the scan's *out-of-sample* predictions: they are what exists
for flagged images, and in-sample ones would make the model's vote count too much.
"""

from __future__ import annotations

import warnings

import numpy as np

from labelaudit.core.consensus.matrix import ClassConsensus, VoteMatrix, majority_classes

FALLBACK_NOTE = "crowdlab fell back to majority: no image has two or more class votes"


def _merge_majority(result: ClassConsensus, majority: ClassConsensus, items: np.ndarray) -> None:
    result.label[items] = majority.label[items]
    result.quality[items] = majority.quality[items]


def crowdlab(votes: VoteMatrix, pred_probs: np.ndarray) -> ClassConsensus:
    """CROWDLAB consensus of class votes; ``pred_probs`` float (N, K), nan rows where unknown."""
    majority = majority_classes(votes)
    per_item = np.bincount(votes.item, minlength=votes.n_items)
    has_probs = np.isfinite(pred_probs).all(axis=1)
    usable = (per_item > 0) & has_probs
    if not (per_item[usable] >= 2).any():
        majority.notes.append(FALLBACK_NOTE)
        return majority
    items = np.flatnonzero(usable)
    keep = usable[votes.item]
    item_row = np.full(votes.n_items, -1)
    item_row[items] = np.arange(items.size)
    columns = np.unique(votes.annotator[keep])
    column_of = np.full(votes.n_annotators, -1)
    column_of[columns] = np.arange(columns.size)
    table = np.full((items.size, columns.size), np.nan)
    table[item_row[votes.item[keep]], column_of[votes.annotator[keep]]] = votes.value[keep]
    probs = np.clip(pred_probs[items].astype(np.float64), 0.0, None)
    probs /= probs.sum(axis=1, keepdims=True)
    label_quality, annotator_stats, notes = _run_cleanlab(table, probs, columns)
    result = ClassConsensus(
        label=np.full(votes.n_items, -1, dtype=np.int64),
        quality=np.full(votes.n_items, np.nan),
        annotator_quality=np.full(votes.n_annotators, np.nan),
        method="crowdlab",
        notes=notes,
    )
    result.label[items] = label_quality[0]
    result.quality[items] = label_quality[1]
    result.annotator_quality[annotator_stats[0]] = annotator_stats[1]
    missing = np.flatnonzero((per_item > 0) & ~has_probs)
    if missing.size:
        _merge_majority(result, majority, missing)
        result.notes.append(
            f"{missing.size} images without pred_probs (not in the scan) got the majority vote"
        )
    return result


def _run_cleanlab(
    table: np.ndarray, probs: np.ndarray, columns: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    import pandas as pd
    from cleanlab.multiannotator import get_label_quality_multiannotator

    frame = pd.DataFrame(table, columns=list(range(columns.size)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = get_label_quality_multiannotator(
            frame, probs, return_detailed_quality=False, verbose=False
        )
    quality_frame = out["label_quality"]
    labels = quality_frame["consensus_label"].to_numpy(dtype=np.int64)
    scores = quality_frame["consensus_quality_score"].to_numpy(dtype=np.float64)
    stats = out["annotator_stats"]
    annotator_index = columns[stats.index.to_numpy(dtype=np.int64)]
    annotator_quality = stats["annotator_quality"].to_numpy(dtype=np.float64)
    notes = sorted({f"cleanlab: {w.message}" for w in caught})
    return (labels, scores), (annotator_index, annotator_quality), notes
