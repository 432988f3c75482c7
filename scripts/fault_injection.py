"""A fault-injection campaign against the ``labelaudit`` CLI: kill -9 at seeded random points of
init, import, export and vote, races of two processes, killed import workers and a memory limit
on one file; prints the figures (cases, faults injected, survived) and every broken invariant.

The campaigns are the test suite's own (tests/fault/), only bigger. PostgreSQL comes from
``--pg-url`` or ``LABELAUDIT_TEST_PG_URL`` (a superuser URL: each campaign makes and drops a
database), else a throwaway server as the tests start (tests/pg_server.py); without one the
PostgreSQL campaigns are skipped, and the table says so.

    python scripts/fault_injection.py --kills 20 --rounds 5 --seed 1 --backend both

Exit status: 0 when every invariant held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fault")]

from fault_common import Tally  # noqa: E402
from fault_kills import kill_export, kill_import, kill_init  # noqa: E402
from fault_races import race_export_vs_folder, race_exports, race_init  # noqa: E402
from fault_setup import scratch_database  # noqa: E402
from fault_votes import kill_vote, race_votes  # noqa: E402
from fault_workers import dead_worker, memory_limit  # noqa: E402


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12, help="kill -9s per command (default 12)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per race (default 4)")
    parser.add_argument("--workers", type=int, default=4, help="worker-kill cases (default 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("LABELAUDIT_TEST_PG_URL"))
    parser.add_argument("--keep", type=Path, help="keep the campaigns' folders under this one")
    parser.add_argument("--only", action="append", help="run only this campaign (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    if min(args.kills, args.rounds, args.workers) < 1:
        parser.error("--kills, --rounds and --workers must be 1 or more")
    return args


@contextlib.contextmanager
def _pg_admin(args: argparse.Namespace) -> Iterator[str | None]:
    """A superuser URL for the PostgreSQL campaigns: given, else a throwaway server."""
    if args.backend == "sqlite" or args.pg_url:
        yield args.pg_url
        return
    from pg_server import ThrowawayServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    with ThrowawayServer(bindir) as started:
        yield started


def _campaigns(args: argparse.Namespace, *, pg: bool) -> list[tuple[str, Callable, bool]]:
    """(name, run, whether run takes the store's URL) of one backend's campaigns."""
    kills = {"kills": args.kills, "seed": args.seed}
    rounds = {"rounds": args.rounds, "seed": args.seed}
    out: list[tuple[str, Callable, bool]] = [
        ("kill-init", partial(kill_init, **kills), True),
        ("kill-import", partial(kill_import, **kills), True),
        ("kill-export", partial(kill_export, **kills), True),
        ("kill-vote", partial(kill_vote, **kills), True),
        ("race-init", partial(race_init, **rounds), True),
        ("race-votes", partial(race_votes, **rounds), True),
    ]
    if not pg:  # about files and processes, not the store: once is enough
        out += [
            ("race-export", partial(race_exports, two_projects=False, **rounds), False),
            ("race-export-2", partial(race_exports, two_projects=True, **rounds), False),
            ("race-folder", partial(race_export_vs_folder, **rounds), False),
            ("workers", partial(dead_worker, cases=args.workers, seed=args.seed), False),
            ("memory", partial(memory_limit, seed=args.seed), False),
        ]
    return out


def _run_backend(args: argparse.Namespace, top: Path, tally: Tally, admin: str | None) -> None:
    """Every campaign on SQLite (admin None) or PostgreSQL (a fresh database each). A campaign
    that crashes (its set-up or reference run failed) is reported as a failure."""
    backend = "sqlite" if admin is None else "postgres"
    for name, campaign, takes_db in _campaigns(args, pg=admin is not None):
        if args.only and name not in args.only:
            continue
        base = top / f"{backend}-{name}"
        base.mkdir()
        print(f"{backend} {name} ...", file=sys.stderr, flush=True)
        try:
            with contextlib.ExitStack() as stack:
                if not takes_db:
                    campaign(base, tally)
                    continue
                db_url = None if admin is None else stack.enter_context(scratch_database(admin))
                campaign(base, tally, db_url=db_url)
        except Exception as exc:
            fig = tally.new(f"{name} (crashed)", backend)
            fig.failures.append(f"{name}: {type(exc).__name__}: {exc}"[:500])


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.environ.pop("LABELAUDIT_DB", None)
    tally = Tally()
    top = Path(tempfile.mkdtemp(prefix="labelaudit-faults-", dir=args.keep))
    started = time.monotonic()
    notes = []
    try:
        with _pg_admin(args) as admin:
            if args.backend in ("sqlite", "both"):
                _run_backend(args, top, tally, None)
            if args.backend in ("postgres", "both"):
                if admin is None:
                    notes.append("postgres: skipped, no server (--pg-url, or install PostgreSQL)")
                else:
                    _run_backend(args, top, tally, admin)
    finally:
        if args.keep is None:
            shutil.rmtree(top, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    print(
        f"seed {args.seed}, {args.kills} kills per command, {args.rounds} rounds per race, "
        f"{minutes:.1f} min on {os.cpu_count()} cores"
    )
    print(tally.table())
    for note in notes:
        print(note)
    if args.verbose:
        for fig in tally.rows:
            print(f"\n{fig.name} ({fig.backend})")
            print("\n".join(f"  {line}" for line in fig.log))
    return 1 if any(f.failures for f in tally.rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
