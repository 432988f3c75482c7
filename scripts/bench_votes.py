"""Many annotators voting at once: votes/s and vote latency on SQLite and PostgreSQL.

Usage: python scripts/bench_votes.py [--processes 8] [--votes 500] [--images 36]
       [--fault-every N] [--pg URL]   (PostgreSQL: --pg or LABELAUDIT_TEST_PG_URL; a scratch
       database is created and dropped)

Each process opens the project, waits at a barrier, then casts its votes one transaction each
(the same load generator as tests/core/test_concurrency.py). Prints one line per backend.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import make_tree  # noqa: E402
from labelaudit.core.consensus import annotators as reg  # noqa: E402
from labelaudit.core.dataset.catalog import load_catalog  # noqa: E402
from labelaudit.core.project import Project  # noqa: E402
from vote_load import plan, run_load  # noqa: E402


def bench(
    name: str, folder: Path, root: Path, db_url: str | None, args: argparse.Namespace
) -> None:
    project = Project.create(folder, root, db_url=db_url)
    project.import_images(workers=1)
    for k in range(args.processes):
        reg.add_annotator(project.store, f"a{k}")
    ids = [int(i) for i in load_catalog(project.store).image_ids]
    classes = project.class_names()
    project.close()
    plans = {
        f"a{k}": plan(f"a{k}", args.votes, ids, classes, seed=0) for k in range(args.processes)
    }
    load = run_load(folder, plans, fault_every=args.fault_every, resend_every=0)
    lat = load.latencies_s * 1000
    total = args.processes * args.votes
    print(
        f"{name:<10} {args.processes} processes x {args.votes} votes: {total / load.wall_s:7.0f} "
        f"votes/s; latency p50 {np.percentile(lat, 50):6.1f} ms, p99 {np.percentile(lat, 99):6.1f} "
        f"ms, max {lat.max():6.1f} ms; {load.injected} injected lock errors retried"
    )


def _pg_database(admin: str) -> tuple[str, object]:
    import sqlalchemy as sa

    from labelaudit.core.store.engine import normalize_url

    url = normalize_url(admin)
    name = f"la_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--votes", type=int, default=500, help="votes per process")
    parser.add_argument("--images", type=int, default=36)
    parser.add_argument("--fault-every", type=int, default=0, help="inject a lock error every N")
    parser.add_argument("--pg", default=os.environ.get("LABELAUDIT_TEST_PG_URL"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        per_class = max(1, args.images // 3)
        root = make_tree(base / "images", {"cat": per_class, "dog": per_class, "owl": per_class})
        bench("sqlite", base / "sqlite", root, None, args)
        if args.pg:
            url, drop = _pg_database(args.pg)
            try:
                bench("postgres", base / "pg", root, url, args)
            finally:
                drop()  # type: ignore[operator]
        else:
            print("postgres   skipped (no --pg URL or LABELAUDIT_TEST_PG_URL)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
