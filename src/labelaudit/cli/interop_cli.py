"""The CLI side of other labelling tools: ``init/import --from FORMAT:PATH``, ``votes import
--format``, ``export --format labelstudio-review|cvat-review`` (core/interop does the work)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, cast

from labelaudit.cli.common import for_terminal, open_project, print_json
from labelaudit.core.dataset.source import parse_classes
from labelaudit.core.errors import InputError
from labelaudit.core.interop import store_io
from labelaudit.core.interop.labelstudio import check_given
from labelaudit.core.interop.model import ForeignExport, parse_path_map
from labelaudit.core.interop.review_export import export_review, split_formats
from labelaudit.core.project import Project


def add_path_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path-map",
        action="append",
        metavar="OLD=NEW",
        help="rewrite image references starting with OLD to start with NEW before they are "
        "looked up under the image root (repeatable; e.g. s3://bucket/imgs/=)",
    )


def add_votes_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("csv", *store_io.VOTE_FORMATS),
        default="csv",
        help="csv (default), or another tool's export: labelstudio (JSON), cvat (CVAT for images "
        "1.1 XML), datumaro (JSON); every annotator's labels become their votes",
    )
    add_path_options(parser)


def add_from_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="from_export",
        metavar="FORMAT:PATH",
        help="import images, given labels and every annotator's labels (as votes) from another "
        f"tool's export; FORMAT: {', '.join(store_io.FORMATS)} (docs/interop-*.md)",
    )
    add_path_options(parser)
    parser.add_argument(
        "--given-label",
        default="ground-truth",
        metavar="MODE",
        help="Label Studio: the given label is the ground-truth annotation (default; else the "
        "first completed one), the first completed one (first), or annotator:NAME's",
    )


def prepare(args: argparse.Namespace, image_root: Path, stored: Any = None) -> ForeignExport | None:
    """Parse and validate ``--from`` (before anything is written); None without it."""
    spec = getattr(args, "from_export", None)
    if spec is None:
        return None
    cached = getattr(args, "_foreign", None)
    if cached is not None:
        return cast(ForeignExport, cached)
    if args.manifest is not None:
        raise InputError("give either --manifest FILE or --from FORMAT:PATH, not both")
    if getattr(args, "folder", False):
        raise InputError("give either --folder or --from FORMAT:PATH, not both")
    fmt, where = store_io.parse_spec(spec)
    check_given(args.given_label)
    classes = parse_classes(args.classes) if args.classes is not None else stored
    export = store_io.read_export(
        fmt,
        where,
        image_root=Path(image_root).absolute(),
        path_map=parse_path_map(args.path_map),
        given=args.given_label,
        allowed=set(classes) if classes else None,
    )
    args._foreign = export
    return export


def manifest_for(
    export: ForeignExport | None, project: Project, manifest: Path | None
) -> Path | None:
    return store_io.write_manifest(export, project.folder) if export is not None else manifest


def finish(project: Project, export: ForeignExport | None) -> dict[str, Any]:
    """After the images: the classes only votes use, the votes, the prediction scores."""
    if export is None:
        return {}
    store_io.add_classes(project.store, {v.label for v in export.votes})
    report = store_io.import_votes(project.store, export)
    scores = store_io.write_scores(export, project.folder, project.class_names())
    if export.scores and scores is None:
        report.notes.append("prediction scores do not cover every class: not kept as pred_probs")
    return {"votes": _report_dict(report, scores)}


def _report_dict(report: store_io.VotesReport, scores: Path | None = None) -> dict[str, Any]:
    return {
        "votes": report.votes,
        "added": report.added,
        "already_stored": report.already_stored,
        "new_annotators": report.new_annotators,
        "on_unreadable_images": report.unreadable,
        "notes": report.notes,
        "pred_probs_csv": str(scores) if scores else None,
    }


def print_votes(result: dict[str, Any]) -> None:
    data = result.get("votes")
    if not data:
        return
    print(
        f"{data['votes']} votes: {data['added']} added, {data['already_stored']} already stored"
        + (
            f"; new annotators: {for_terminal(', '.join(data['new_annotators']))}"
            if data["new_annotators"]
            else ""
        )
    )
    if data["on_unreadable_images"]:
        print(f"{data['on_unreadable_images']} votes on broken or missing images were left out")
    for note in data["notes"]:
        print(f"note: {for_terminal(note)}")
    if data["pred_probs_csv"]:
        print(
            f"per-class prediction scores written to {for_terminal(data['pred_probs_csv'])}; "
            "once every image has them: labelaudit scan PROJECT --pred-probs that file"
        )
    sys.stdout.flush()


def import_votes(args: argparse.Namespace) -> int:
    """``votes import --format labelstudio|cvat|datumaro FILE``."""
    with open_project(args) as project:
        export = store_io.read_export(
            args.format,
            str(args.file),
            image_root=project.image_root,
            path_map=parse_path_map(args.path_map),
            allowed=set(project.class_names()),
        )
        report = store_io.import_votes(project.store, export)
    print_votes({"votes": _report_dict(report)})
    return 0


def export_tasks(args: argparse.Namespace) -> int | None:
    """``export --format labelstudio-review|cvat-review``; None when no review format is named."""
    formats = split_formats(args.format)
    if formats is None:
        return None
    with open_project(args) as project:
        result = export_review(
            project.store,
            args.out,
            formats,
            image_root=project.image_root,
            class_names=project.class_names(),
            method=args.consensus,
            force=args.force,
        )
    if args.json:
        print_json({"out": str(result.out_dir), "images": result.images, "votes": result.votes})
    else:
        print(
            f"wrote {result.images} review tasks ({result.votes} prior votes) to "
            f"{for_terminal(result.out_dir)}: " + ", ".join(result.files)
        )
    return 0


def discard_sources(project: Project) -> None:
    """Undo what ``manifest_for`` wrote into a new project whose first import failed, so that
    ``Project.discard_new`` can remove the folder it made."""
    import shutil

    shutil.rmtree(project.folder / store_io.SOURCES_DIR, ignore_errors=True)
