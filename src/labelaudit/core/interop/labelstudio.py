"""Label Studio's JSON export (image classification, ``choices`` results) in, review tasks out.

In: every task's image (``data.image``: a local-files or upload URL, or a plain path), its given
label (``--given-label``), each completed annotation as a vote of its annotator (e-mail, else
``labelstudio-user-ID``), cancelled or empty (skipped) annotations left out, and predictions kept
as per-class scores only when they score every class. Out (``review_tasks``): one task per image
to review, with the given and suggested labels as predictions and the current votes as
annotations whose result id carries the vote id, so they do not come back as new votes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from labelaudit.core.errors import InputError
from labelaudit.core.interop.model import (
    PRIOR_PREFIX,
    ForeignExport,
    ForeignImage,
    ForeignVote,
    Resolver,
    bad_record,
    class_name,
    parse_time,
    stable_id,
)
from labelaudit.core.interop.review_items import ReviewItem

FMT = "labelstudio"
GIVEN_MODES = ("ground-truth", "first")
LOCAL_FILES = "/data/local-files/"
UPLOAD = "/data/upload/"
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")  # Label Studio prefixes uploads with a short hash
DATA_KEY = "labelaudit"  # task data written by review_tasks and read back
OWN_MODEL = "labelaudit-"  # model_version prefix of review_tasks' predictions


def check_given(mode: str) -> str:
    if mode in GIVEN_MODES or (mode.startswith("annotator:") and mode[len("annotator:") :]):
        return mode
    raise InputError(f"--given-label must be ground-truth, first or annotator:NAME; got {mode!r}")


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; nothing was imported") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "nothing was imported"
        ) from None


def read(
    path: Path,
    *,
    image_root: Path,
    path_map: list[tuple[str, str]],
    given: str = "ground-truth",
    allowed: set[str] | None = None,
) -> ForeignExport:
    """Parse and validate a Label Studio JSON export (a list of tasks)."""
    check_given(given)
    tasks = load_json(path)
    if not isinstance(tasks, list):
        raise InputError(f"{path}: a Label Studio JSON export is a list of tasks; nothing imported")
    out = ForeignExport(FMT, path)
    resolver = Resolver(path, image_root, path_map)
    seen: dict[str, str] = {}
    skipped = unscored = 0
    emails = _emails(tasks)
    for n, task in enumerate(tasks, 1):
        record = f"task {task.get('id', f'#{n}')}" if isinstance(task, dict) else f"task #{n}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise bad_record(path, record, "not a task with a 'data' object")
        rel = _image_path(resolver, record, task["data"])
        if rel in seen:
            raise bad_record(path, record, f"image {rel!r} is also in {seen[rel]}")
        seen[rel] = record
        votes, cancelled, gt = _votes(path, record, task, rel, allowed, emails)
        skipped += cancelled
        out.votes.extend(v for v, _ in votes)
        out.images.append(ForeignImage(rel, _given(votes, gt, given), record))
        scores, plain = _scores(path, record, task.get("predictions"), allowed)
        unscored += plain
        if scores:
            out.scores[rel] = scores
    if skipped:
        out.notes.append(f"{skipped} skipped or cancelled annotations are not votes")
    if unscored:
        out.notes.append(
            f"{unscored} predictions without a score for every class were ignored "
            "(pred_probs need one per class)"
        )
    return out


def _image_path(resolver: Resolver, record: str, data: dict[str, Any]) -> str:
    mine = data.get(DATA_KEY)
    if isinstance(mine, dict) and isinstance(mine.get("path"), str):
        return resolver.relpath(record, mine["path"])  # a task labelaudit wrote
    ref = data.get("image")
    if not isinstance(ref, str):
        refs = [v for v in data.values() if isinstance(v, str) and _looks_like_image(v)]
        if len(refs) != 1:
            raise bad_record(resolver.source, record, "no image reference in data.image")
        ref = refs[0]
    mapped = resolver.mapped(ref)
    parts = urlsplit(mapped)
    if parts.path.startswith(LOCAL_FILES):  # also http://host/data/local-files/?d=...
        wanted = parse_qs(parts.query).get("d")
        if not wanted:
            raise bad_record(resolver.source, record, f"no ?d= in {ref!r}")
        return resolver.relpath(record, wanted[0])
    if parts.path.startswith(UPLOAD):
        name = UPLOAD_PREFIX.sub("", unquote(parts.path.rsplit("/", 1)[-1]))
        return resolver.by_name(record, name)
    return resolver.relpath(record, ref)  # relpath applies --path-map itself


def _looks_like_image(text: str) -> bool:
    return bool(re.search(r"\.(jpe?g|png|bmp|gif|webp|tiff?)(\?|$)", text, re.IGNORECASE))


def _emails(tasks: list[Any]) -> dict[str, str]:
    """{user id: e-mail} from the annotations that name both: an export may give the same user
    as an object in one place and as a bare id in another."""
    out: dict[str, str] = {}
    for task in tasks:
        for a in task.get("annotations") or [] if isinstance(task, dict) else []:
            who = a.get("completed_by") if isinstance(a, dict) else None
            if isinstance(who, dict) and isinstance(who.get("email"), str) and who["email"].strip():
                out[str(who.get("id"))] = who["email"].strip()
    return out


def annotator_of(completed_by: Any, emails: dict[str, str] | None = None) -> str:
    """The annotator's e-mail where the export gives it, else ``labelstudio-user-ID``."""
    if emails and not isinstance(completed_by, dict) and str(completed_by) in emails:
        return emails[str(completed_by)]
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        if isinstance(email, str) and email.strip():
            return email.strip()
        completed_by = completed_by.get("id")
    if completed_by is None or completed_by == "":
        return "labelstudio-user"
    return f"labelstudio-user-{completed_by}"


def _choice(source: Path, record: str, result: Any, allowed: set[str] | None) -> tuple[str, str]:
    """(class, result id) of an annotation's single ``choices`` result."""
    if not isinstance(result, list):
        raise bad_record(source, record, "'result' is not a list")
    picked = [r for r in result if isinstance(r, dict) and r.get("type") == "choices"]
    if len(picked) != 1:
        raise bad_record(source, record, f"{len(picked)} choices results; expected one")
    choices = (picked[0].get("value") or {}).get("choices")
    if not isinstance(choices, list) or len(choices) != 1:
        raise bad_record(source, record, "a choices result must hold exactly one choice")
    return class_name(source, record, choices[0], allowed), str(picked[0].get("id") or "")


def _prior(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The votes a labelaudit review task carried, by vote id."""
    mine = task["data"].get(DATA_KEY)
    votes = mine.get("votes") if isinstance(mine, dict) else None
    return {v["vote_id"]: v for v in votes or [] if isinstance(v, dict) and "vote_id" in v}


def _votes(
    source: Path,
    record: str,
    task: dict[str, Any],
    rel: str,
    allowed: set[str] | None,
    emails: dict[str, str],
) -> tuple[list[tuple[ForeignVote, bool]], int, int]:
    """([(vote, is ground truth)], skipped or cancelled count, ground-truth count)."""
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        raise bad_record(source, record, "'annotations' is not a list")
    prior = _prior(task)
    out: list[tuple[ForeignVote, bool]] = []
    skipped = 0
    for a in annotations:
        where = f"{record}, annotation {a.get('id') if isinstance(a, dict) else '?'}"
        if not isinstance(a, dict):
            raise bad_record(source, where, "not an annotation object")
        if a.get("was_cancelled") or not a.get("result"):
            skipped += 1
            continue
        label, result_id = _choice(source, where, a["result"], allowed)
        who = annotator_of(a.get("completed_by"), emails)
        when = parse_time(a.get("updated_at") or a.get("created_at"))
        carried = prior.get(result_id[len(PRIOR_PREFIX) :]) if result_id else None
        if carried is not None and carried.get("label") == label:
            # A prior vote coming back unchanged: its own id and annotator, already stored.
            vote = ForeignVote(
                str(carried["annotator"]), rel, label, carried["vote_id"], when, where
            )
        else:
            stamp = a.get("updated_at") or a.get("created_at") or ""
            vote_id = stable_id(FMT, task.get("id"), a.get("id"), stamp, who, label)
            vote = ForeignVote(who, rel, label, vote_id, when, where)
        out.append((vote, bool(a.get("ground_truth"))))
    return out, skipped, sum(1 for _, gt in out if gt)


def _given(votes: list[tuple[ForeignVote, bool]], gt: int, mode: str) -> str | None:
    if mode.startswith("annotator:"):
        name = mode[len("annotator:") :]
        mine = [v.label for v, _ in votes if v.annotator == name]
        return mine[0] if mine else None
    if mode == "ground-truth" and gt:
        return next(v.label for v, is_gt in votes if is_gt)
    return votes[0][0].label if votes else None


def _scores(
    source: Path, record: str, predictions: Any, allowed: set[str] | None
) -> tuple[dict[str, float], int]:
    """(per-class scores of the first prediction scoring 2+ classes, predictions ignored)."""
    if not isinstance(predictions, list):
        return {}, 0
    ignored = 0
    found: dict[str, float] = {}
    for p in predictions:
        if isinstance(p, dict) and str(p.get("model_version", "")).startswith(OWN_MODEL):
            continue  # labelaudit's own pre-annotations (review_tasks) coming back
        results = p.get("result") if isinstance(p, dict) else None
        scored: dict[str, float] = {}
        for r in results if isinstance(results, list) else []:
            choices = (r.get("value") or {}).get("choices") if isinstance(r, dict) else None
            score = r.get("score") if isinstance(r, dict) else None
            if isinstance(choices, list) and len(choices) == 1 and _is_prob(score):
                assert isinstance(score, int | float)
                scored[class_name(source, record, choices[0], allowed)] = float(score)
        if len(scored) >= 2 and not found:
            found = scored
        else:
            ignored += 1
    return found, ignored


def _is_prob(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


# -- out: review tasks ---------------------------------------------------------------------------
def _choices(label: str, result_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": result_id,
            "from_name": "label",
            "to_name": "image",
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def review_tasks(items: list[ReviewItem]) -> list[dict[str, Any]]:
    """Label Studio tasks to import: one per image to review (see the module docstring)."""
    tasks = []
    for item in items:
        predictions = []
        for version, label, score in (
            (f"{OWN_MODEL}given-label", item.given, item.quality),
            (f"{OWN_MODEL}suggestion", item.suggested, item.suggested_prob),
        ):
            if label is None or (version.endswith("suggestion") and label == item.given):
                continue
            pred: dict[str, Any] = {"model_version": version, "result": _choices(label, "p0")}
            if score is not None and not math.isnan(score):
                pred["score"] = round(score, 6)
            predictions.append(pred)
        annotations = [
            {"result": _choices(v.label, PRIOR_PREFIX + v.vote_id), "ground_truth": False}
            for v in item.votes
            if v.label is not None
        ]
        data = {
            "image": f"{LOCAL_FILES}?d={quote(item.path)}",
            DATA_KEY: item.as_data(),
        }
        tasks.append({"data": data, "annotations": annotations, "predictions": predictions})
    return tasks
