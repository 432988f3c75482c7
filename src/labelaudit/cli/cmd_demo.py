"""``labelaudit demo [DIR]``: build the digits demo and run every stage of the audit on it."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from labelaudit.cli.cmd_import import print_report
from labelaudit.cli.common import has_display
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.dataset.demo import build_demo, check_demo_options
from labelaudit.core.errors import InputError
from labelaudit.core.project import PROJECT_FILE, Project

MARKER = ".labelaudit-demo"


def _demo_options(args: argparse.Namespace) -> dict[str, object]:
    return {
        "seed": args.seed,
        "noise": args.noise,
        "noise_type": args.noise_type,
        "imbalance": args.imbalance,
    }


def _built_with(out: Path) -> dict[str, object] | None:
    """The options the existing demo was built with (None for a marker from an older version)."""
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("options") if isinstance(data, dict) else None


def _reuse_note(out: Path, args: argparse.Namespace) -> str:
    wanted, built = _demo_options(args), _built_with(out)
    if built is None:
        return f"reusing the demo in {out} (--rebuild makes a new one)"
    differ = [k for k, v in wanted.items() if built.get(k) != v]
    if not differ:
        return f"reusing the demo in {out} (--rebuild makes a new one)"
    given = " ".join(f"--{k.replace('_', '-')} {wanted[k]}" for k in differ)
    was = " ".join(f"--{k.replace('_', '-')} {built.get(k)}" for k in differ)
    return (
        f"reusing the demo in {out}, built with {was}: ignoring {given} "
        "(add --rebuild to build a new one with them)"
    )


def _prepare(args: argparse.Namespace) -> Project:
    out: Path = args.dir
    project_dir = out / "project"
    check_demo_options(noise=args.noise, noise_type=args.noise_type, imbalance=args.imbalance)
    if (out / MARKER).exists() and (project_dir / PROJECT_FILE).exists() and not args.rebuild:
        print(_reuse_note(out, args))
        return Project.open(project_dir)
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise InputError(
                f"{out} exists and is not a labelaudit demo folder; choose another DIR"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    marker = {"note": "made by labelaudit demo; safe to delete", "options": _demo_options(args)}
    (out / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    demo = build_demo(
        out,
        seed=args.seed,
        noise=args.noise,
        noise_type=args.noise_type,
        imbalance=args.imbalance,
    )
    print(
        f"demo dataset: {demo.n_images} digit images in {demo.images}, {demo.n_flipped} labels "
        f"planted wrong ({args.noise:.0%} {args.noise_type}), {demo.n_broken} broken files; "
        f"answer key {demo.truth}"
    )
    project = Project.create(project_dir, demo.images)
    print_report(project.import_images(progress=make_progress()))
    return project


def _run(args: argparse.Namespace) -> int:
    from labelaudit.cli import demo_stages

    project = _prepare(args)
    with project:
        demo_stages.run_stages(project, args)
    if args.no_gui or not has_display():
        if not args.no_gui:
            print(
                "no display: not opening the app (run 'labelaudit gui "
                f"{project.folder}' on a desktop)"
            )
        return 0
    if args.gui_launcher is None:
        return 0
    gui_args = argparse.Namespace(
        project=project.folder, db=None, annotator=args.annotator, screenshot=None, size="1400x900"
    )
    return int(args.gui_launcher(gui_args))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="build a demo dataset with planted label errors and audit it",
        description="Build a demo from the handwritten digits that ship with scikit-learn "
        "(upscaled to 32x32 PNG) with planted label errors, class imbalance and broken files; "
        "the answer key goes to DIR/truth.csv. Then create DIR/project and run every stage: "
        "import, scan, audit, and the app (with no display, the audit summary is printed).",
    )
    parser.add_argument("dir", type=Path, nargs="?", default=Path("labelaudit-demo"), metavar="DIR")
    parser.add_argument("--no-gui", action="store_true", help="do not open the app")
    parser.add_argument("--seed", type=int, default=0, metavar="N")
    parser.add_argument(
        "--noise",
        type=float,
        default=0.1,
        metavar="RATE",
        help="fraction of labels planted wrong (default 0.1)",
    )
    parser.add_argument(
        "--noise-type",
        choices=("uniform", "pairs"),
        default="uniform",
        help="uniform: any other class; pairs: the look-alike digit",
    )
    parser.add_argument(
        "--imbalance",
        type=float,
        default=4.0,
        metavar="RATIO",
        help="largest / smallest class size (default 4)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild an existing demo folder")
    parser.add_argument("--skip-scan", action="store_true", help="import only: no scan, no audit")
    parser.add_argument(
        "--annotator",
        metavar="NAME",
        help="who opens the app: ana or bob (annotators) or lena (lead); default: the app asks",
    )
    parser.set_defaults(func=_run)
