"""``labelaudit retrain DIR [options]``: the export's retraining script, run from the package.

The same file is copied into every export as ``DIR/retrain.py`` (it needs only torch and
torchvision); this command runs the packaged copy, so the options are the script's own.
"""

from __future__ import annotations

import argparse

from labelaudit.core.errors import Cancelled, InputError


def _run(args: argparse.Namespace) -> int:
    try:
        from labelaudit.export_assets import retrain
    except ImportError as exc:  # pragma: no cover - the package ships it
        raise InputError(f"the retraining script is missing from this install ({exc})") from None
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"retraining needs torch and torchvision ({exc}); pip install 'labelaudit[scan]'"
        ) from None
    script_args = [str(args.dir), *args.script_args]
    try:
        parsed = retrain.build_parser().parse_args(script_args)
        retrain.apply_defaults(parsed)
        retrain.run(parsed)
    except retrain.RetrainError as exc:
        raise InputError(str(exc)) from None
    except KeyboardInterrupt as exc:  # retraining touches no project: say what was cut short
        raise Cancelled(str(exc) or "interrupted before training; no model saved") from None
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "retrain",
        help="train a classifier on an export and report test accuracy",
        description="Train on DIR/train, select on DIR/val, report DIR/test (and "
        "--eval-manifest) accuracy overall and per class. Options after DIR go to the export's "
        "retrain.py: see 'python DIR/retrain.py --help' (also under torchrun for several GPUs).",
        add_help=True,
    )
    parser.add_argument("dir", metavar="DIR", help="an export folder")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="options for retrain.py")
    parser.set_defaults(func=_run)
