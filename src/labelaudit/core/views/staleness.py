"""Is a finished scan still about this project? (architecture.md §3: arrays never shift silently.)

A scan is stale when the project's valid images, its classes, or the given labels of the scanned
images differ from what the scan saw. Its results stay readable, aligned by image id, but a new
scan is due.
"""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa

from labelaudit.core.dataset.catalog import Catalog, load_catalog
from labelaudit.core.store.arrays import get_array
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import owner
from labelaudit.core.store.schema import scans


def stale_reasons(
    scan_class_names: list[str],
    scan_image_ids: np.ndarray,
    scan_labels: np.ndarray,
    current: Catalog,
) -> list[str]:
    """Why the scan no longer matches ``current`` (valid images only); empty when it does."""
    reasons: list[str] = []
    now_classes = set(current.class_names)
    added = sorted(now_classes - set(scan_class_names))
    removed = sorted(set(scan_class_names) - now_classes)
    if added or removed:
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []
        reasons.append(f"classes changed ({'; '.join(parts)})")
    new_images = np.setdiff1d(current.image_ids, scan_image_ids).size
    gone = np.setdiff1d(scan_image_ids, current.image_ids).size
    if new_images:
        reasons.append(f"{new_images} images added since the scan")
    if gone:
        reasons.append(f"{gone} scanned images are gone, broken or unlabelled now")
    common, at_scan, now = np.intersect1d(scan_image_ids, current.image_ids, return_indices=True)
    if common.size:
        old_names = np.asarray(scan_class_names, dtype=object)[scan_labels[at_scan]]
        new_names = np.asarray(current.class_names, dtype=object)[current.labels[now]]
        changed = int(np.sum(old_names != new_names))
        if changed:
            reasons.append(f"{changed} given labels changed since the scan")
    return reasons


def scan_staleness(store: Store, scan_ids: list[int] | None = None) -> dict[int, list[str]]:
    """Stale reasons for finished scans (all of them when ``scan_ids`` is None)."""
    current = load_catalog(store, valid_only=True, with_paths=False)
    out: dict[int, list[str]] = {}
    with store.read() as conn:
        query = sa.select(scans.c.id, scans.c.class_names).where(scans.c.status == "done")
        if scan_ids is not None:
            query = query.where(scans.c.id.in_(scan_ids))
        for scan_id, names_json in conn.execute(query).all():
            ids = get_array(conn, owner(scan_id), "image_ids")
            labels = get_array(conn, owner(scan_id), "labels")
            if ids is None or labels is None:
                out[scan_id] = ["its arrays are missing"]
                continue
            out[scan_id] = stale_reasons(json.loads(names_json), ids, labels, current)
    return out
