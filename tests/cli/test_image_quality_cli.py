"""Dark, overexposed, blurry and odd-size images: import -> own-predictions scan -> issues,
summary and review_issue_types, through the installed command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from helpers import run_cli

PLANTED = {
    "ant/dark.png": "dark",
    "bee/light.png": "light",
    "ant/blurry.png": "blurry",
    "bee/odd.png": "odd_size",
}


def noise(size: tuple[int, int], seed: int, *, low: int = 0, high: int = 256) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(low, high, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def build(tmp_path: Path) -> Path:
    """11 normal 80x80 noise images per class plus one of each planted kind."""
    root = tmp_path / "images"
    for k, cls in enumerate(("ant", "bee")):
        (root / cls).mkdir(parents=True)
        for i in range(11):
            noise((80, 80), 100 * k + i).save(root / cls / f"{i:02d}.png")
    noise((80, 80), 1, high=40).save(root / "ant" / "dark.png")
    noise((80, 80), 2, low=215).save(root / "bee" / "light.png")
    noise((80, 80), 3).filter(ImageFilter.GaussianBlur(2)).save(root / "ant" / "blurry.png")
    noise((16, 16), 4).save(root / "bee" / "odd.png")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", root, check=True)
    return proj


def scan_with_true_labels(proj: Path, out: Path) -> None:
    """A confident model that agrees with every given label: no label issue anywhere."""
    order = run_cli("issues", proj, "--all", "--order", "path", check=True).stdout
    rows = list(csv.DictReader(io.StringIO(order)))
    probs = np.full((len(rows), 2), 0.05, dtype=np.float32)
    for i, row in enumerate(rows):
        probs[i, ["ant", "bee"].index(row["given_label"])] = 0.95
    np.save(out, probs)
    run_cli("scan", proj, "--pred-probs", out, check=True)


def issue_rows(proj: Path, *extra: str) -> dict[str, dict[str, object]]:
    listed = json.loads(run_cli("issues", proj, *extra, "--format", "json", check=True).stdout)
    return {r["path"]: r for r in listed["rows"]}


def test_image_property_issues_end_to_end(tmp_path: Path) -> None:
    proj = build(tmp_path)
    scan_with_true_labels(proj, tmp_path / "p.npy")
    everything = issue_rows(proj, "--all")
    assert len(everything) == 26
    for path, row in everything.items():
        assert row["issue_types"] == PLANTED.get(path, ""), (path, row)
        assert row["is_label_issue"] is False and row["flagged"] is False  # not label issues
    assert set(issue_rows(proj)) == set(PLANTED)  # listed without --all, yet not flagged

    summary = " ".join(run_cli("summary", proj, check=True).stdout.split())
    for expected in (
        "IMAGE QUALITY",
        "1 dark, 1 overexposed (light), 1 blurry, 1 odd-size (odd_size)",
        "review_issue_types label,dark,light,blurry,odd_size",
    ):
        assert expected in summary, (expected, summary)
    data = json.loads(run_cli("summary", proj, "--json", check=True).stdout)
    assert data["summary"]["label_issues"]["flagged"] == 0
    assert data["summary"]["image_quality"]["measured"] == 26

    # Reviewing a type puts exactly those images into review.
    run_cli("config", proj, "review_issue_types", "label,dark,blurry", check=True)
    flagged = {p for p, r in issue_rows(proj).items() if r["flagged"]}
    assert flagged == {"ant/dark.png", "ant/blurry.png"}
    shown = run_cli("config", proj, "review_issue_types", check=True).stdout
    assert "dark" in shown and "blurry" in shown
    bad = run_cli("config", proj, "review_issue_types", "label,fuzzy")
    assert bad.returncode != 0 and "odd_size" in bad.stderr
