"""Image properties measured at import (brightness, sharpness), the dark / light / blurry /
odd-size rules of the audit, and the schema migration that added the two columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image, ImageFilter

from helpers import make_tree
from labelaudit.core.audit.image_quality import ImageProperties, find_image_issues
from labelaudit.core.codes import Issue, issue_names
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.dataset.inspect import image_properties
from labelaudit.core.project import Project
from labelaudit.core.store.migrations import schema_version
from labelaudit.core.store.schema import SCHEMA_VERSION, meta


def noise(size: tuple[int, int], *, low: int = 0, high: int = 256, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(low, high, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def test_brightness_and_sharpness_of_decoded_images() -> None:
    sharp_b, sharp_s = image_properties(noise((96, 96)))
    dark_b, dark_s = image_properties(noise((96, 96), high=40))
    blur_b, blur_s = image_properties(noise((96, 96)).filter(ImageFilter.GaussianBlur(2)))
    assert sharp_b is not None and dark_b is not None and blur_b is not None
    assert sharp_s is not None and dark_s is not None and blur_s is not None
    assert 0.45 < sharp_b < 0.55 and dark_b < 0.1
    assert blur_s < sharp_s / 10  # blur removes the fine detail ...
    assert dark_s == pytest.approx(sharp_s, rel=0.2)  # ... darkness does not
    # Measured on a copy at most 128 px long: a big image and its half-size copy agree.
    smooth = noise((64, 64)).filter(ImageFilter.GaussianBlur(1)).resize((512, 512))
    _, big = image_properties(smooth)
    _, half = image_properties(smooth.resize((256, 256)))
    assert big is not None and half is not None and big == pytest.approx(half, rel=0.3)
    assert image_properties(Image.new("L", (2, 2), 0)) == (0.0, None)  # too small for blur


def props(n: int, **changes: tuple[int, float]) -> ImageProperties:
    rng = np.random.default_rng(1)
    values = {
        "brightness": rng.normal(0.5, 0.02, n).astype(np.float32),
        "sharpness": np.exp(rng.normal(1.0, 0.1, n)).astype(np.float32),
        "width": np.full(n, 100),
        "height": np.full(n, 80),
    }
    for name, (row, value) in changes.items():
        values[name][row] = value
    return ImageProperties(**values)


def test_rules_flag_the_tails_and_never_unknown_values() -> None:
    found = find_image_issues(props(30, brightness=(0, 0.03), sharpness=(1, 0.01), width=(2, 500)))
    assert [issue_names(int(f)) for f in found.flags[:3]] == [["dark"], ["blurry"], ["odd_size"]]
    assert not found.flags[3:].any()
    assert found.summary["dark"] == found.summary["blurry"] == found.summary["odd_size"] == 1
    # Unknown values (old rows: NaN, 0 px) never flag; too few measured images: no dataset rule.
    unknown = props(30, brightness=(0, np.nan), sharpness=(1, np.nan), width=(2, 0))
    assert not find_image_issues(unknown).flags.any()
    nothing = ImageProperties(
        np.full(30, np.nan, np.float32), np.full(30, np.nan, np.float32), np.zeros(30), np.zeros(30)
    )
    assert not find_image_issues(nothing).flags.any()
    assert find_image_issues(nothing).summary["measured"] == 0
    # A dataset of tiny images is never called blurry.
    tiny = props(30, sharpness=(1, 0.01))
    tiny = ImageProperties(tiny.brightness, tiny.sharpness, np.full(30, 32), np.full(30, 32))
    assert not find_image_issues(tiny).flags.any()
    # A wide panorama is odd whatever its area.
    assert find_image_issues(props(30, width=(4, 400))).flags[4] == Issue.ODD_SIZE


def _downgrade_to_v1(project: Project) -> None:
    """Make the database look written by schema 1 (no image-property columns)."""

    def apply(conn: sa.Connection) -> None:
        for table in ("images", "import_staging"):
            for column in ("brightness", "sharpness"):
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="1"))

    project.store.write(apply)


def test_migration_from_schema_1_keeps_images_and_measures_on_rehash(
    tmp_path: Path, backend: str | None
) -> None:
    assert SCHEMA_VERSION == 2
    tree = make_tree(tmp_path / "images", {"cat": 3, "dog": 3})
    with Project.create(tmp_path / "proj", tree, db_url=backend) as project:
        project.import_images()
        folder = project.folder
        _downgrade_to_v1(project)
    with Project.open(folder) as project:
        with project.store.read() as conn:
            assert schema_version(conn) == SCHEMA_VERSION
        catalog = load_catalog(project.store)
        assert len(catalog) == 6 and catalog.brightness.dtype == np.float32
        assert np.isnan(catalog.brightness).all() and np.isnan(catalog.sharpness).all()
        project.import_images()  # files unchanged: not decoded again, values stay unknown
        assert np.isnan(load_catalog(project.store).brightness).all()
        project.import_images(rehash=True)
        measured = load_catalog(project.store)
        assert np.isfinite(measured.brightness).all() and np.isfinite(measured.sharpness).all()
        assert np.array_equal(measured.image_ids, catalog.image_ids)
