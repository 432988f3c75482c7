#!/usr/bin/env python3
"""Retrain on a labelaudit export: runs the script that every export carries as DIR/retrain.py.

The one source is ``src/labelaudit/export_assets/retrain.py`` (it needs only torch and
torchvision). Usage: ``scripts/retrain.py DIR [options]``, also under ``torchrun``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "src" / "labelaudit" / "export_assets" / "retrain.py"

if __name__ == "__main__":
    sys.argv[0] = str(SCRIPT)
    runpy.run_path(str(SCRIPT), run_name="__main__")
