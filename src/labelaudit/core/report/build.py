"""``make_report``: gather the facts, draw, write one self-contained HTML file atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from labelaudit import __version__
from labelaudit.core.consensus.methods import AUTO
from labelaudit.core.dataset.source import read_source
from labelaudit.core.errors import InputError
from labelaudit.core.report import gather, html, images, provenance, story, story_team, team
from labelaudit.core.report.model import ImageRef, ReportFacts
from labelaudit.core.store.engine import Store, public_url


class ProjectLike(Protocol):
    store: Store
    folder: Path
    image_root: Path
    project_id: str

    @property
    def thumb_dir(self) -> Path: ...


@dataclass(frozen=True)
class ReportResult:
    path: Path
    bytes: int
    seconds: float
    facts: ReportFacts


def check_output(path: Path) -> Path:
    """The absolute output file, after refusing a folder or an unwritable place (before any
    work)."""
    path = Path(os.path.abspath(path))
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; name a file (report.html)")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"cannot write {path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {path}: permission denied")
    return path


def gather_facts(
    project: ProjectLike, *, method: str = AUTO, output: Path | None = None
) -> ReportFacts:
    store = project.store
    scan = gather.scan_facts(store)
    review = team.review_facts(store, method=method)
    export = gather.export_facts(store)
    info = {
        "folder": str(project.folder),
        "id": project.project_id,
        "database": public_url(store.url),
        "image_root": str(project.image_root),
    }
    with store.read() as conn:
        source = read_source(conn)
    return ReportFacts(
        project=info,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        imported=gather.import_facts(store),
        scan=scan,
        review=review,
        export=export,
        versions=provenance.versions(),
        commands=provenance.commands(
            info,
            manifest=str(source.manifest) if source.manifest else None,
            scan=scan,
            export=export,
            votes=review.votes,
            output=output,
        ),
    )


def _shown_images(facts: ReportFacts) -> list[ImageRef]:
    refs: list[ImageRef] = []
    if facts.scan is not None:
        refs += facts.scan.worst
        refs += [r for g in facts.scan.conflict_groups for r in g]
        refs += [r for p in facts.scan.pairs for r in p.images]
    if facts.review is not None:
        refs += facts.review.decisions
    return refs


def render(facts: ReportFacts, *, image_root: Path, thumb_dir: Path) -> str:
    uris = images.thumbnail_uris(_shown_images(facts), image_root=image_root, cache_dir=thumb_dir)
    name = Path(facts.project["folder"]).name
    headline = facts.scan.report["headline"] if facts.scan is not None else "No scan yet."
    when = facts.created_at.replace("T", " ").replace("+00:00", " UTC")
    body = [
        f"<h1>Label audit: {html.esc(name)}</h1>",
        html.para(f"{facts.project['folder']} · {when} · labelaudit {__version__}", "sub"),
        '<nav><a href="#diagnosis">Diagnosis</a><a href="#pictures">Pictures</a>'
        '<a href="#team">Team</a><a href="#model">Model</a><a href="#provenance">Provenance</a>'
        "</nav>",
        f'<p class="headline">{html.esc(headline)}</p>',
        story.key_numbers(facts),
        story.diagnosis(facts),
        story.pictures(facts, uris),
        story_team.team(facts, uris),
        story_team.model(facts),
        story_team.provenance(facts),
        f"<footer>Made by labelaudit {__version__}: 'labelaudit report'. Self-contained: no "
        "script, no network; images are inline.</footer>",
    ]
    return html.page(title=f"Label audit: {name}", body="\n".join(body), version=__version__)


def write_atomically(path: Path, text: str) -> None:
    """A temporary file beside ``path``, renamed into place: never half a report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def make_report(project: ProjectLike, output: Path, *, method: str = AUTO) -> ReportResult:
    """Write the report of ``project`` to ``output`` (one self-contained HTML file)."""
    start = time.perf_counter()
    output = check_output(output)
    facts = gather_facts(project, method=method, output=output)
    text = render(facts, image_root=project.image_root, thumb_dir=project.thumb_dir)
    write_atomically(output, text)
    return ReportResult(output, len(text.encode("utf-8")), time.perf_counter() - start, facts)
