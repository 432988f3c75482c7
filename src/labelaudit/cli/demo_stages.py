"""The audit stages ``labelaudit demo`` runs after the import, in order.

Each later stage (scan, audit summary, consensus) adds itself here as it lands.
"""

from __future__ import annotations

import argparse

from labelaudit.cli.cmd_info import print_info
from labelaudit.core.project import Project


def run_stages(project: Project, args: argparse.Namespace) -> None:
    print()
    print_info(project)
