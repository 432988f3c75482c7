"""The report in a real browser: headless Chromium opens the file (DevTools protocol on a pipe,
``report_browser.py``) and the test checks console errors, network requests and that every chart
and thumbnail rendered at its size with something drawn in it. Runs where /usr/bin/chromium (or
``chromium`` on PATH) exists; under CI=true a missing Chromium fails instead of skipping."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import report_projects as rp
from PIL import Image, ImageStat
from report_browser import Browser, PageLoad, chromium_path

from helpers import in_ci
from labelaudit.core.report.build import make_report

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.browser
if chromium_path() is None:
    if in_ci():
        pytest.fail("CI runs the browser test: install Debian's chromium (.ci/run does)")
    pytest.skip("chromium is not installed", allow_module_level=True)

THUMB_PX = 72


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1100, height=900) as b:
        yield b


def _drawn(shot: Image.Image, box: list[float]) -> tuple[float, float]:
    """(largest channel standard deviation, share of non-white pixels) inside ``box``."""
    x, y, w, h = (round(v) for v in box)
    region = shot.crop((x, y, x + w, y + h)).convert("RGB")
    spread = max(ImageStat.Stat(region).stddev)
    inked = float((np.asarray(region).min(axis=2) < 235).mean())
    return spread, inked


def _check_clean(load: PageLoad) -> None:
    assert load.console_errors == []
    outside = [u for u in load.requests if u != load.url and not u.startswith("data:")]
    assert outside == []


def test_the_report_renders_offline_with_every_chart_and_thumbnail(
    browser: Browser, tmp_path: Path
) -> None:
    project, _ = rp.exported(tmp_path)
    report = make_report(project, tmp_path / "report.html").path
    project.close()
    load = browser.open(report)
    (tmp_path / "screenshot.png").write_bytes(load.screenshot)
    _check_clean(load)
    shot = Image.open(io.BytesIO(load.screenshot))
    assert shot.size == (1100, load.layout["height"])
    images = load.layout["images"]
    charts = [im for im in images if im["cls"] == "chart"]
    thumbs = [im for im in images if im["cls"] != "chart"]
    # sizes, noise per class, noise matrix, label quality, review progress, annotators
    assert len(charts) == 6
    assert len(thumbs) >= len(rp.WRONG)
    for im in images:
        assert im["complete"] and min(im["natural"]) > 0, im["alt"]
        assert im["scheme"] == "data"
    for im in charts:  # drawn at the size the page asks for (narrower than the page)
        assert abs(im["box"][2] - im["attr"][0]) <= 1 and abs(im["box"][3] - im["attr"][1]) <= 1
        spread, inked = _drawn(shot, im["box"])
        assert spread > 20 and inked > 0.02, (im["alt"], spread, inked)
    for im in thumbs:
        assert [round(v) for v in im["box"][2:]] == [THUMB_PX, THUMB_PX]
        spread, _ = _drawn(shot, im["box"])
        assert spread > 5, (im["alt"], spread)  # random-noise test images: not a flat box


def test_the_checks_catch_a_network_request_and_a_console_error(
    browser: Browser, tmp_path: Path
) -> None:
    """The same checks on a page that breaks both rules must fail: they are not vacuous."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>',
        encoding="utf-8",
    )
    load = browser.open(page)
    assert any(u.startswith("http://127.0.0.1:9/") for u in load.requests)
    assert any("boom" in e for e in load.console_errors)
    with pytest.raises(AssertionError):
        _check_clean(load)
