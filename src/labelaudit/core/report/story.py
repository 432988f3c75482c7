"""The report's first sections: the diagnosis in words, then the pictures of the data."""

from __future__ import annotations

from typing import Any

from labelaudit.core.report import charts
from labelaudit.core.report.html import cards, chart, esc, para, pct, table, thumbs
from labelaudit.core.report.model import ImportFacts, ReportFacts, ScanFacts


def key_numbers(facts: ReportFacts) -> str:
    imp = facts.imported
    items = [
        ("valid images", f"{imp.totals.get('ok', 0):,}"),
        ("classes", str(len(imp.classes))),
    ]
    if facts.scan is not None:
        s = facts.scan.report["summary"]
        items += [
            ("model agrees with the labels", pct(s["accuracy"])),
            ("estimated wrong labels", f"{s['label_issues']['estimated']:,}"),
            ("label health score", f"{s['health_score']:.3f}"),
            ("flagged for review", f"{s['label_issues']['flagged']:,}"),
            ("imbalance ratio", f"{s['imbalance']['ratio']:.1f}"),
        ]
    else:
        items.append(("imbalance ratio", _ratio(imp)))
    items.append(("exact-duplicate groups", str(imp.duplicate_groups)))
    return cards(items)


def _ratio(imp: ImportFacts) -> str:
    sizes = [n for n in imp.classes.values() if n]
    return f"{max(sizes) / min(sizes):.1f}" if sizes else "–"


def diagnosis(facts: ReportFacts) -> str:
    out = ['<h2 id="diagnosis">1. Diagnosis</h2>']
    if facts.scan is None:
        out.append(
            para(
                "No scan yet: this is what the import found. 'labelaudit scan PROJECT' adds the "
                "model's view: which labels look wrong, which classes overlap, duplicates and "
                "outliers.",
                "warn",
            )
        )
        out += [html for _, html in _import_findings(facts.imported)]
        return "\n".join(out)
    report = facts.scan.report
    if report["stale"]:
        out.append(
            para(
                f"STALE: the project changed since this scan ({'; '.join(report['stale'])}); "
                "run 'labelaudit scan' again.",
                "warn",
            )
        )
    found = [(f["severity"], _finding(**f)) for f in report["findings"]]
    found += _import_findings(facts.imported, problems_only=True)
    out += [html for _, html in sorted(found, key=lambda f: _RANK.get(f[0], 9))]  # stable
    return "\n".join(out)


_RANK = {"high": 0, "medium": 1, "low": 2, "info": 3}  # stable: summary's order within a level


def _finding(*, topic: str, severity: str, text: str, advice: str) -> str:
    title = topic.replace("_", " ")
    return (
        f'<div class="finding {esc(severity)}"><p><span class="badge {esc(severity)}">'
        f"{esc(severity)}</span><strong>{esc(title)}</strong></p><p>{esc(text)}</p>"
        f'<p class="todo">What to do: {esc(advice)}</p></div>'
    )


def _import_findings(imp: ImportFacts, *, problems_only: bool = False) -> list[tuple[str, str]]:
    """Import facts in words, (severity, html): unreadable, missing and unlabelled files, exact
    duplicates, class sizes."""
    out = []
    bad = imp.totals.get("broken", 0) + imp.totals.get("missing", 0)
    if bad or imp.totals.get("unlabelled", 0):
        listed = "; ".join(f"{imp.problem_words[r]}: {n}" for r, n in imp.problems.items())
        severity = "medium" if bad else "low"
        out.append(
            (
                severity,
                _finding(
                    topic="import",
                    severity=severity,
                    text=f"{imp.totals.get('broken', 0)} broken, "
                    f"{imp.totals.get('missing', 0)} missing "
                    f"and {imp.totals.get('unlabelled', 0)} unlabelled files are kept out of scans "
                    f"and exports" + (f" ({listed})." if listed else "."),
                    advice="Fix or remove the files ('labelaudit info PROJECT --json' lists them), "
                    "then 'labelaudit import PROJECT' again.",
                ),
            )
        )
    if problems_only:
        return out
    if imp.duplicate_groups:
        severity = "high" if imp.conflicting_duplicate_groups else "low"
        out.append(
            (
                severity,
                _finding(
                    topic="duplicates",
                    severity=severity,
                    text=f"{imp.duplicate_images} images are exact copies of another "
                    f"({imp.duplicate_groups} groups); {imp.conflicting_duplicate_groups} groups "
                    "carry different labels for the same picture.",
                    advice="Settle one label per conflicting group; keep one copy of each in the "
                    "export.",
                ),
            )
        )
    sizes = sorted(imp.classes.items(), key=lambda kv: -kv[1])
    if sizes:
        (big, nb), (small, ns) = sizes[0], sizes[-1]
        out.append(
            (
                "info",
                _finding(
                    topic="classes",
                    severity="info",
                    text=f"{imp.totals.get('ok', 0)} valid images in {len(sizes)} classes; largest "
                    f"{big} ({nb}), smallest {small} ({ns}): a ratio of {_ratio(imp)}.",
                    advice="Scan the project to find wrong labels: 'labelaudit scan PROJECT'.",
                ),
            )
        )
    return out


def pictures(facts: ReportFacts, uris: dict[int, str]) -> str:
    out = ['<h2 id="pictures">2. The data in pictures</h2>', _sizes(facts)]
    scan = facts.scan
    if scan is None:
        return "\n".join(out)
    out += _noise(scan)
    out += _flagged(scan, uris)
    out += _groups(scan, uris)
    out += _pairs(scan, uris)
    return "\n".join(out)


def _sizes(facts: ReportFacts) -> str:
    names = sorted(facts.imported.classes)
    given = [facts.imported.classes[n] for n in names]
    after = None
    export = facts.export
    if export is not None:
        folder_of = _folders(export.provenance)
        split_counts = export.counts.get("after", {})
        after = [
            sum(split.get(folder_of.get(n, n), 0) for split in split_counts.values()) for n in names
        ]
    note = ""
    if export is not None:
        note = para(
            f"After export #{export.export_id} to {export.out_dir}: images per class over all "
            "splits, oversampled repeats included.",
            "note",
        )
    if len(names) > charts.MAX_BARS:
        note += para(f"The {charts.MAX_BARS} largest of {len(names)} classes are drawn.", "note")
    return "<h3>Class sizes</h3>" + chart(charts.class_sizes(names, given, after)) + note


def _folders(provenance: dict[str, Any] | None) -> dict[str, str]:
    """Class name -> export folder (they differ where a name was unsafe as a folder name)."""
    return {c["name"]: c["folder"] for c in (provenance or {}).get("classes", []) if "name" in c}


def _noise(scan: ScanFacts) -> list[str]:
    out = []
    noise = [c for c in scan.report["class_noise"] if c["label_noise"] is not None]
    if noise:
        out.append("<h3>Estimated label noise per class</h3>")
        out.append(
            chart(
                charts.class_noise([c["class"] for c in noise], [c["label_noise"] for c in noise])
            )
        )
        if len(noise) > charts.MAX_BARS:
            out.append(para(f"The {charts.MAX_BARS} noisiest of {len(noise)} classes.", "note"))
    matrix = scan.report.get("confident_joint")
    if matrix:
        out.append("<h3>Noise matrix: given label × likely label</h3>")
        out.append(
            para(
                "Rows: the given label; columns: the label the model finds likely (cleanlab's "
                "calibrated confident joint). Off the diagonal: images that look mislabelled "
                "as the row's class.",
                "note",
            )
        )
        out.append(chart(charts.noise_matrix(matrix["classes"], matrix["counts"])))
        if len(matrix["classes"]) > charts.ANNOTATE_CELLS:  # cells too small for their counts
            out.append(_largest_confusions(matrix["classes"], matrix["counts"]))
    out.append("<h3>Label quality</h3>")
    out.append(chart(charts.quality_histogram(scan.label_quality, scan.flagged)))
    out.append(
        para(
            "cleanlab flags per class by the estimated noise rate "
            f"({scan.report['summary'].get('options', {}).get('filter_by', 'prune_by_noise_rate')})"
            ", not by one score cut-off; the dashed line marks the highest score it flagged.",
            "note",
        )
    )
    return out


TOP_CONFUSIONS = 15


def _largest_confusions(names: list[str], counts: list[list[int]]) -> str:
    """The largest off-diagonal cells of the noise matrix, with their exact counts."""
    cells = sorted(
        ((c, g, k) for g, row in enumerate(counts) for k, c in enumerate(row) if g != k and c),
        key=lambda t: (-t[0], t[1], t[2]),
    )[:TOP_CONFUSIONS]
    rows = [(names[g], names[k], c) for c, g, k in cells]
    head = para(f"The {len(rows)} largest cells off the diagonal, with their counts:", "note")
    return head + table(("given", "likely", "images"), rows, numeric=frozenset({2}))


def _flagged(scan: ScanFacts, uris: dict[int, str]) -> list[str]:
    total = scan.report["summary"]["label_issues"]["flagged"]
    shown = len(scan.worst)
    return [
        f"<h3>The {shown} worst of {total:,} flagged images</h3>",
        para(
            "Given label → the label the model suggests; q: label quality (lowest first).", "note"
        ),
        thumbs(scan.worst, uris),
    ]


def _groups(scan: ScanFacts, uris: dict[int, str]) -> list[str]:
    if not scan.conflict_group_total:
        return []
    out = [
        f"<h3>Near-duplicates with conflicting labels ({scan.conflict_group_total} groups)</h3>",
        para(
            "The same picture, or almost, with different given labels: at most one is right.",
            "note",
        ),
    ]
    for i, (group, labels) in enumerate(zip(scan.conflict_groups, scan.conflict_labels), 1):
        out.append(
            f'<div class="group"><span class="note">group {i}: {esc(labels)}</span>'
            + thumbs(group, uris)
            + "</div>"
        )
    if scan.conflict_group_total > len(scan.conflict_groups):
        rest = scan.conflict_group_total - len(scan.conflict_groups)
        out.append(
            para(f"… and {rest} more groups (review type near_duplicate in the app).", "note")
        )
    return out


def _pairs(scan: ScanFacts, uris: dict[int, str]) -> list[str]:
    if not scan.pairs:
        return []
    out = ["<h3>Overlapping classes</h3>"]
    rows = [(f"{p.a} ↔ {p.b}", p.overlap, pct(p.share_of_smaller)) for p in scan.pairs]
    out.append(
        table(
            ("classes", "images in the overlap", "of the smaller class"),
            rows,
            numeric=frozenset({1, 2}),
        )
    )
    out.append(
        para(
            "Examples: images given one class of the pair that the model puts in the "
            "other, lowest label quality first.",
            "note",
        )
    )
    for p in scan.pairs:
        out.append(f'<div class="group"><span class="note">{esc(p.a)} ↔ {esc(p.b)}</span>')
        out.append(thumbs(p.images, uris) + "</div>")
    return out
