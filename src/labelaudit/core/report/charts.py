"""The report's charts, drawn with matplotlib (the optional ``report`` extra), imported only here
and only when a report is made. Each chart is rendered as SVG and PNG and the smaller is inlined.

matplotlib's Figure is used without pyplot, and its settings only inside ``rc_context``: the app
may make a report in-process without any global state changing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from labelaudit.core.errors import InputError

CSS_PX_PER_INCH = 96
PNG_DPI = 144  # 1.5 device pixels per CSS pixel: sharp enough on a laptop screen
SVG_CHECK_BYTES = 40_000  # a larger SVG is drawn as PNG too, and the smaller is kept
GREY, BLUE, RED, GREEN, AMBER = "#8a949e", "#2f6fb3", "#c8423b", "#3a8a4f", "#d9962b"
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable
    "svg.hashsalt": "labelaudit",  # the same chart gives the same bytes
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}
MAX_BARS = 40  # more classes than this: the largest, noisiest ... are shown, and it says so
ANNOTATE_CELLS = 15  # classes up to which every cell of the noise matrix carries its count


@dataclass(frozen=True)
class Chart:
    uri: str  # data:image/svg+xml or data:image/png
    width: int  # CSS px
    height: int
    alt: str


def _figure_module() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("the report needs matplotlib: pip install 'labelaudit[report]'") from None
    return Figure


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # keys checked at run time
        yield


def _encode(fig: Any, alt: str) -> Chart:
    """SVG, or PNG where that is smaller: a bar chart's SVG is small, a heatmap's or a busy
    chart's often is not. The PNG reuses the SVG's layout (laying out costs as much as drawing)."""
    w, h = fig.get_size_inches()
    svg = BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    mime, data = "image/svg+xml", svg.getvalue()
    if len(data) > SVG_CHECK_BYTES:
        fig.set_layout_engine("none")
        png = BytesIO()
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
        if len(png.getvalue()) < len(data):
            mime, data = "image/png", png.getvalue()
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return Chart(uri, round(w * CSS_PX_PER_INCH), round(h * CSS_PX_PER_INCH), alt)


def draw(width: float, height: float, alt: str, paint: Callable[[Any], None]) -> Chart:
    """A ``width`` x ``height`` inch figure painted by ``paint(fig)``, encoded."""
    figure = _figure_module()
    with _style():
        fig = figure(figsize=(width, height), layout="constrained")
        paint(fig)
        return _encode(fig, alt)


def _bar_height(n: int) -> float:
    return min(0.22 * n + 1.0, 10.0)


def class_sizes(names: Sequence[str], given: Sequence[int], after: Sequence[int] | None) -> Chart:
    """Horizontal bars per class: the given labels, and after the latest export beside them."""
    order = sorted(range(len(names)), key=lambda k: (-given[k], names[k]))[:MAX_BARS]
    shown = [names[k] for k in order][::-1]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(len(shown)))
        g = [given[k] for k in order][::-1]
        if after is None:
            ax.barh(y, g, color=BLUE, label="given labels")
        else:
            a = [after[k] for k in order][::-1]
            ax.barh([v + 0.2 for v in y], g, 0.4, color=GREY, label="given labels")
            ax.barh([v - 0.2 for v in y], a, 0.4, color=BLUE, label="after the latest export")
        ax.set_yticks(y, shown)
        ax.set_xlabel("images")
        ax.legend(loc="lower right", frameon=False)

    return draw(6.4, _bar_height(len(shown)), "images per class", paint)


def class_noise(names: Sequence[str], noise: Sequence[float]) -> Chart:
    """Per class, the estimated share of its given labels that are wrong, noisiest on top."""
    order = sorted(range(len(names)), key=lambda k: (-noise[k], names[k]))[:MAX_BARS][::-1]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        values = [100 * noise[k] for k in order]
        colors = [RED if v >= 10 else AMBER if v >= 3 else GREY for v in values]
        bars = ax.barh(range(len(order)), values, color=colors)
        ax.bar_label(bars, fmt="%.1f%%", padding=2, fontsize=8)
        ax.set_yticks(range(len(order)), [names[k] for k in order])
        ax.set_xlabel("estimated wrong labels (% of the class's given labels)")
        ax.set_xlim(0, max([*values, 1.0]) * 1.2)

    return draw(6.4, _bar_height(len(order)), "estimated label noise per class", paint)


def noise_matrix(names: Sequence[str], counts: Sequence[Sequence[int]]) -> Chart:
    """The confident joint as a heatmap, given (rows) x likely (columns), colour = share of the
    row, text = the count."""
    import numpy as np
    from matplotlib.colors import PowerNorm

    m = np.asarray(counts, dtype=np.float64)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = len(names)
    side = min(max(3.6, 0.42 * k + 1.6), 9.5)

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        image = ax.imshow(share, cmap="Blues", norm=PowerNorm(0.4, 0, 1), interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.7, label="share of the given class")
        ticks = names if k <= 60 else [""] * k
        ax.set_xticks(range(k), ticks, rotation=90 if k > 6 else 0)
        ax.set_yticks(range(k), ticks)
        ax.set_xlabel("likely label")
        ax.set_ylabel("given label")
        if k <= ANNOTATE_CELLS:
            for i in range(k):
                for j in range(k):
                    if m[i, j]:
                        dark = share[i, j] > 0.45
                        ax.text(
                            j,
                            i,
                            f"{int(m[i, j])}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if dark else "#1b2733",
                        )

    return draw(side + 1.2, side, "noise matrix heatmap", paint)


def quality_histogram(quality: Sequence[float], flagged: Sequence[bool]) -> Chart:
    """Label-quality scores of flagged and unflagged images; the line marks the highest score
    cleanlab flagged (it flags per class by estimated noise, not by one cut-off)."""
    import numpy as np

    q = np.asarray(quality, dtype=np.float64)
    f = np.asarray(flagged, dtype=bool)
    ok = np.isfinite(q)
    q, f = q[ok], f[ok]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        bins = np.linspace(0, 1, 41)
        ax.hist(
            [q[~f], q[f]],
            bins=bins,
            stacked=True,
            color=[GREY, RED],
            label=["not flagged", "flagged as likely wrong"],
        )
        ax.set_yscale("symlog", linthresh=10)
        if f.any():
            top = float(q[f].max())
            ax.axvline(top, color="#1b2733", linestyle="--", linewidth=1)
            ax.annotate(
                f"highest flagged score {top:.3f}",
                (top, 0.55),
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=8,
            )
        ax.set_xlabel("label quality (low = the given label looks wrong)")
        ax.set_ylabel("images")
        ax.legend(loc="upper center", frameon=False)

    return draw(6.4, 2.8, "label quality distribution", paint)


def progress_bar(groups: Sequence[tuple[str, int]]) -> Chart:
    """One stacked bar: where the images in review stand."""
    from matplotlib.ticker import MaxNLocator

    colors = [GREEN, AMBER, RED, BLUE, GREY, "#b9c2cb"]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        left = 0
        for (name, n), color in zip(groups, colors, strict=False):
            if n:
                ax.barh([0], [n], left=left, color=color, label=f"{name}: {n}")
                left += n
        ax.set_yticks([])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("images in review")
        fig.legend(loc="outside lower center", ncol=3, frameon=False)

    return draw(6.4, 1.7, "review progress", paint)


def annotator_quality(people: Sequence[dict[str, Any]]) -> Chart:
    """Per annotator: agreement with the consensus and the method's quality score."""

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(len(people)))[::-1]
        agree = [p["agreement_with_consensus"] or 0 for p in people]
        quality = [p["quality"] or 0 for p in people]
        ax.barh([v + 0.2 for v in y], agree, 0.4, color=BLUE, label="agrees with consensus")
        ax.barh([v - 0.2 for v in y], quality, 0.4, color=GREY, label="quality score")
        ax.set_yticks(y, [f"{p['name']} ({p['votes']} votes)" for p in people])
        ax.set_xlim(0, 1)
        ax.legend(loc="lower right", frameon=False, fontsize=8)

    return draw(6.4, _bar_height(len(people)) + 0.3, "annotator quality", paint)


def learning_curves(history: dict[str, Any], *, ceiling: float | None) -> Chart:
    """Train and validation loss and accuracy per epoch, with the kept epoch and the label-noise
    ceiling."""
    epochs = history["epochs"]
    x = [e["epoch"] for e in epochs]

    def series(key: str) -> list[float]:
        return [float("nan") if e.get(key) is None else e[key] for e in epochs]

    def paint(fig: Any) -> None:
        loss, acc = fig.subplots(1, 2)
        loss.plot(x, series("train_loss"), "o-", color=BLUE, label="train", markersize=3)
        loss.plot(x, series("val_loss"), "o-", color=RED, label="validation", markersize=3)
        loss.set_title("Loss", loc="left")
        acc.plot(x, series("train_accuracy"), "o-", color=BLUE, label="train", markersize=3)
        acc.plot(x, series("val_accuracy"), "o-", color=RED, label="validation", markersize=3)
        if ceiling is not None:
            acc.axhline(ceiling, color=GREY, linestyle=":", label="label-noise ceiling")
        acc.set_ylim(0, 1.02)
        acc.set_title("Accuracy", loc="left")
        for ax in (loss, acc):
            ax.axvline(
                history.get("best_epoch") or x[-1], color="#1b2733", linewidth=0.8, linestyle="--"
            )
            ax.set_xlabel("epoch")
            ax.legend(frameon=False, fontsize=8)

    return draw(7.2, 2.8, "learning curves", paint)


def recall_by_class(recall: dict[str, float | None], train_images: dict[str, int]) -> Chart:
    """Final per-class recall, classes ordered by their number of train images."""
    names = sorted(recall, key=lambda c: (train_images.get(c, 0), c))[:MAX_BARS]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        values = [recall[c] or 0.0 for c in names]
        bars = ax.barh(range(len(names)), values, color=BLUE)
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
        ax.set_yticks(range(len(names)), [f"{c} ({train_images.get(c, 0)})" for c in names])
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("recall at the end (class, train images)")

    return draw(6.4, _bar_height(len(names)), "per-class recall", paint)
