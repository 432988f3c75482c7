"""The report's later sections: the team's work, the model's side, provenance."""

from __future__ import annotations

import datetime as dt
from typing import Any

from labelaudit.core.export.report import REASON_TEXT
from labelaudit.core.report import charts
from labelaudit.core.report.html import chart as img
from labelaudit.core.report.html import esc, num, para, pct, table, thumbs
from labelaudit.core.report.model import ExportFacts, ReportFacts
from labelaudit.core.report.team import progress
from labelaudit.core.report.verdict import RULES, verdicts

SPLIT_WORDS = {"test": "Test split", "val": "Validation split", "eval": "Held-out set"}


def team(facts: ReportFacts, uris: dict[int, str]) -> str:
    out = ['<h2 id="team">3. The team\'s work</h2>']
    review = facts.review
    if review is None or (not review.votes and not review.decision_total):
        waiting = review.states.get("needs_votes", 0) if review is not None else 0
        out.append(
            para(
                "No votes and no lead decisions yet: nobody has reviewed an image"
                + (f"; {waiting} images wait for votes." if waiting else "."),
                "note",
            )
        )
    else:
        groups = progress(review.states)
        out.append(img(charts.progress_bar(groups)))
        out.append(table(("state", "images"), groups, numeric=frozenset({1})))
        out += _agreement(review.agreement, review.votes, review.annotators)
        if review.decisions:
            out.append(f"<h3>The lead's decisions ({review.decision_total})</h3>")
            out.append(para("Given label, suggestion and quality; then who decided what.", "note"))
            out.append(thumbs(review.decisions, uris))
    out += _export_changes(facts.export)
    return "\n".join(out)


def _agreement(report: dict[str, Any] | None, votes: int, annotators: int) -> list[str]:
    if report is None:
        return []
    p = report["project"]
    out = [
        "<h3>Inter-annotator agreement</h3>",
        para(
            f"{votes} votes by {annotators} people; {p['items_with_2plus_votes']} images have two "
            f"or more votes. Krippendorff's α {num(p['krippendorff_alpha'])}, Fleiss' κ "
            f"{num(p['fleiss_kappa'])} ({p['fleiss_items']} images with "
            f"{p['fleiss_ratings_per_item']} votes each). 1 is perfect agreement, 0 is chance.",
        ),
    ]
    people = report["annotators"]
    if people:
        out.append(img(charts.annotator_quality(people)))
        rows = [
            (a["name"], a["votes"], num(a["agreement_with_consensus"]), num(a["quality"]))
            for a in people
        ]
        out.append(
            table(
                ("annotator", "votes", "agrees with consensus", f"quality ({report['method']})"),
                rows,
                numeric=frozenset({1, 2, 3}),
            )
        )
    return out


def _export_changes(export: ExportFacts | None) -> list[str]:
    if export is None:
        return [
            "<h3>Export</h3>",
            para("Not exported yet ('labelaudit export PROJECT --out DIR').", "note"),
        ]
    c = export.counts
    when = dt.datetime.fromtimestamp(export.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[tuple[str, object]] = [
        ("images exported", c.get("images_exported", "–")),
        ("rows written (oversampled repeats included)", c.get("rows_written", "–")),
        ("relabelled", c.get("relabelled", "–")),
        ("still unresolved (waiting for votes or a lead)", c.get("unresolved", "–")),
    ]
    rows += [
        (f"left out: {REASON_TEXT.get(r, r.replace('_', ' '))}", n)
        for r, n in (c.get("excluded") or {}).items()
    ]
    rebalance = export.params.get("rebalance", "none")
    out = [
        f"<h3>What export #{export.export_id} changed</h3>",
        para(
            f"{when} to {export.out_dir}; review policy --unreviewed "
            f"{export.params.get('unreviewed')}, rebalance {rebalance}."
        ),
        table(("", "images"), rows, numeric=frozenset({1})),
    ]
    if export.changes_file is not None:
        out.append(
            para(
                f"Every relabelled and left-out image, with who decided: {export.changes_file}",
                "note",
            )
        )
    elif export.provenance is None:
        out.append(para(f"The export folder {export.out_dir} is no longer there.", "warn"))
    return out


def model(facts: ReportFacts) -> str:
    out = ['<h2 id="model">4. The model\'s side</h2>']
    export = facts.export
    history = export.history if export is not None else None
    if export is None or history is None:
        text = (
            export.history_note
            if export is not None
            else (
                "Export the cleaned dataset, then run the retrain.py it carries: its learning "
                "curves show here, with a verdict on what limits the model."
            )
        )
        out.append(para(text, "note"))
        return "\n".join(out)
    noise = None
    if facts.scan is not None:
        noise = 1.0 - float(facts.scan.report["summary"]["health_score"])
    found = verdicts(history, noise=noise)
    head = found[0]
    out.append(f'<p class="headline">Verdict: {esc(head.name)}</p>')
    for v in found:
        out.append(
            f'<div class="finding medium"><p><strong>{esc(v.name)}</strong>: {esc(v.rule)}.</p>'
            f'<p class="todo">What to do: {esc(v.advice)}</p></div>'
        )
    out.append(para("Rules: " + RULES, "note"))
    out.append(
        para(
            f"{history.get('model')} on {export.out_dir}, {len(history['epochs'])} epochs, kept "
            f"epoch {history.get('best_epoch')} ({history.get('selected_on')}); train figures are "
            "measured on the augmented batches as trained.",
            "note",
        )
    )
    ceiling = None if noise is None else 1.0 - noise
    out.append("<h3>Learning curves</h3>")
    out.append(img(charts.learning_curves(history, ceiling=ceiling)))
    final = history.get("final") or {}
    split = next((s for s in ("test", "val", "eval") if s in final), None)
    if split is not None:
        f = final[split]
        out.append(
            para(
                f"{SPLIT_WORDS[split]}: accuracy {pct(f['accuracy'])}, macro accuracy "
                f"{pct(f['macro_accuracy'])} ({f['images']} images)."
            )
        )
        out.append("<h3>Per-class recall at the end</h3>")
        out.append(img(charts.recall_by_class(f["recall"], history.get("train_images") or {})))
    return "\n".join(out)


def provenance(facts: ReportFacts) -> str:
    p = facts.project
    rows = [
        ("project", p["folder"]),
        ("images", p["image_root"]),
        ("database", p["database"]),
        ("report made", facts.created_at.replace("T", " ").replace("+00:00", " UTC")),
    ]
    if facts.scan is not None:
        r = facts.scan.report
        when = dt.datetime.fromtimestamp(r["created_at"], dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        rows.append(("scan", f"#{r['scan_id']} ({r['kind']}), {when}"))
        config = {k: v for k, v in r["config"].items() if not isinstance(v, dict | list)}
        rows.append(("scan configuration", ", ".join(f"{k}={v}" for k, v in config.items())))
        rows.append(
            ("scan libraries", ", ".join(f"{k} {v}" for k, v in facts.scan.versions.items()))
        )
    rows.append(("report libraries", ", ".join(f"{k} {v}" for k, v in facts.versions.items() if v)))
    out = ['<h2 id="provenance">5. Provenance</h2>', table(("", ""), rows)]
    out.append("<h3>To reproduce</h3>")
    out.append("<pre>" + esc("\n".join(facts.commands)) + "</pre>")
    out += [para(n, "note") for n in facts.notes]
    return "\n".join(out)
