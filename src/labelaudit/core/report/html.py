"""HTML building blocks of the report and the page around its sections: one file, inline CSS,
no script, no font or URL outside it (images are ``data:`` URIs)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from string import Template

from labelaudit.core.report.charts import Chart
from labelaudit.core.report.model import ImageRef

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f4;color:#1b2733;
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:20px 32px 40px;background:#fff}
h1{font-size:26px;margin:8px 0 2px}h2{font-size:21px;margin:34px 0 8px;
 padding-top:10px;border-top:2px solid #dde3e8}h3{font-size:16px;margin:22px 0 6px}
.sub{color:#5b6770;margin:0 0 10px}.headline{font-size:17px;font-weight:600;margin:10px 0}
nav{font-size:14px;margin:6px 0 12px}nav a{margin-right:14px;color:#2f6fb3}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;
 margin:12px 0}.card{border:1px solid #dde3e8;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:22px}.card span{color:#5b6770;font-size:13px}
.finding{border-left:5px solid #8a949e;background:#f7f9fa;padding:8px 14px;margin:10px 0;
 border-radius:0 6px 6px 0}.finding p{margin:4px 0}.high{border-color:#c8423b}
.medium{border-color:#d9962b}.low{border-color:#2f6fb3}.info{border-color:#8a949e}
.badge{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;
 padding:1px 7px;border-radius:9px;color:#fff;background:#8a949e;margin-right:6px}
.badge.high{background:#c8423b}.badge.medium{background:#d9962b}.badge.low{background:#2f6fb3}
.todo{color:#3d4852}.note{color:#5b6770;font-size:14px}
.warn{background:#fff4e0;border:1px solid #f0c987;padding:8px 12px;border-radius:6px}
img.chart{display:block;max-width:100%;height:auto;margin:8px 0 14px}
.thumbs{display:flex;flex-wrap:wrap;gap:10px 8px;margin:6px 0 12px}
figure.t{margin:0;width:104px;font-size:11px;line-height:1.3;overflow-wrap:anywhere}
figure.t img,figure.t .missing{display:block;width:72px;height:72px;object-fit:contain;
 background:#e9edf0;border:1px solid #d0d7dd;border-radius:3px}
figure.t .missing{font-size:10px;color:#5b6770;padding:4px}
figure.t b{color:#c8423b}.group{border:1px solid #dde3e8;border-radius:6px;padding:6px 10px;
 margin:8px 0}.group .thumbs{margin:4px 0}
table{border-collapse:collapse;margin:8px 0 14px;font-size:14px}
th,td{border-bottom:1px solid #e3e8ec;padding:3px 10px 3px 0;text-align:left;vertical-align:top}
td.n,th.n{text-align:right}
pre{background:#f0f3f6;padding:10px 12px;border-radius:6px;white-space:pre-wrap;
 overflow-wrap:anywhere;font-size:13px}
footer{margin-top:30px;color:#5b6770;font-size:13px}
@media print{body{background:#fff}main{max-width:none;padding:0}h2{break-before:auto}
 .group,figure.t,img.chart{break-inside:avoid}}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="labelaudit $version">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$body
</main>
</body>
</html>
""")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(*, title: str, body: str, version: str) -> str:
    return PAGE.substitute(title=esc(title), css=CSS, body=body, version=esc(version))


def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def quality(q: float) -> str:
    """A label-quality score: 3 decimals, or '<0.001' where they would all read 0.000."""
    return "<0.001" if 0 <= q < 0.0005 else f"{q:.3f}"


def chart(c: Chart) -> str:
    return (
        f'<img class="chart" src="{c.uri}" width="{c.width}" height="{c.height}" '
        f'alt="{esc(c.alt)}">'
    )


def cards(items: Iterable[tuple[str, str]]) -> str:
    inner = "".join(
        f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items
    )
    return f'<div class="cards">{inner}</div>'


def table(
    head: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: frozenset[int] = frozenset()
) -> str:
    """A plain table; the columns in ``numeric`` align right."""

    def cell(tag: str, i: int, v: object) -> str:
        cls = ' class="n"' if i in numeric else ""
        return f"<{tag}{cls}>{esc(v)}</{tag}>"

    top = "".join(cell("th", i, h) for i, h in enumerate(head)) if any(head) else ""
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    thead = f"<thead><tr>{top}</tr></thead>" if top else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def thumb(ref: ImageRef, uri: str, *, caption: str | None = None) -> str:
    """One thumbnail with given -> suggested and quality (or ``caption``); the path on hover."""
    if caption is None:
        label = esc(ref.given or "(no label)")
        if ref.suggested and ref.suggested != ref.given:
            label += f" → <b>{esc(ref.suggested)}</b>"
        if ref.quality is not None:
            shown = quality(ref.quality)
            label += "<br>q" + esc(shown if shown.startswith("<") else "=" + shown)
        caption = label
    if ref.note:
        caption += f"<br>{esc(ref.note)}"
    picture = (
        f'<img src="{uri}" width="72" height="72" alt="{esc(ref.path)}">'
        if uri
        else '<div class="missing">image not readable</div>'
    )
    return (
        f'<figure class="t" title="{esc(ref.path)}">{picture}'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def thumbs(refs: Sequence[ImageRef], uris: dict[int, str]) -> str:
    if not refs:
        return '<p class="note">none</p>'
    return (
        '<div class="thumbs">'
        + "".join(thumb(r, uris.get(r.image_id, "")) for r in refs)
        + "</div>"
    )


def para(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{esc(text)}</p>' if cls else f"<p>{esc(text)}</p>"
