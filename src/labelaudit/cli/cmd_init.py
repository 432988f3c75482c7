"""``labelaudit init PROJECT --images ROOT``: create a project and import its images."""

from __future__ import annotations

import argparse
from pathlib import Path

from labelaudit.cli import interop_cli
from labelaudit.cli.cmd_import import add_import_options, run_import
from labelaudit.cli.common import add_project_args, for_terminal
from labelaudit.core.dataset.inspect import check_options
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project


def _run(args: argparse.Namespace) -> int:
    if args.manifest is not None and not args.manifest.is_file():
        raise InputError(f"manifest not found: {args.manifest}")
    check_options(workers=args.workers, max_pixels=args.max_pixels)
    if args.images.is_dir():  # --from is read and checked whole before anything is written
        interop_cli.prepare(args, args.images)
    project = Project.create(args.project, args.images, db_url=args.db)
    paths = {"project": str(project.folder), "image_root": str(project.image_root)}
    try:
        code = run_import(project, args, extra=paths)
    except BaseException:
        interop_cli.discard_sources(project)
        project.discard_new()
        raise
    project.close()
    if not args.json:  # with --json, stdout is the JSON report alone
        where = for_terminal(project.image_root)
        print(f"created project {for_terminal(project.folder)} for images in {where}")
    return code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "init",
        help="create a project and import a dataset",
        description="Create a project folder and import a folder-per-class image tree (or a CSV "
        "manifest). Source images are never modified, moved or deleted.",
    )
    add_project_args(parser)
    parser.add_argument(
        "--images", type=Path, required=True, metavar="ROOT", help="the dataset's image root"
    )
    add_import_options(parser)
    parser.set_defaults(func=_run)
