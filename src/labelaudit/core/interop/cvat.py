"""CVAT exports for images in (CVAT for images 1.1 XML, Datumaro JSON), review tasks out.

In: each ``<image>`` (Datumaro: ``item``) is an image; its tags (``label`` annotations) are votes
of the job's assignee (``meta/job/assignee``, else the segment's or the task's; ``cvat`` when the
export names nobody), the first tag its given label. Tags with ``source="auto"`` are untouched
pre-annotations, not votes. The XML is parsed with DOCTYPE and entity declarations refused, so
no entity expansion ("billion laughs") or external entity can happen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from labelaudit.core.errors import InputError
from labelaudit.core.interop.labelstudio import load_json
from labelaudit.core.interop.model import (
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
from labelaudit.core.paths import nfc

FALLBACK_ANNOTATOR = "cvat"
AUTO = "auto"


def _refuse(*_: Any) -> Any:
    raise InputError("DTD or entity declarations are refused")


def parse_xml(path: Path) -> ET.Element:
    """The document root, read with DOCTYPE and entity declarations refused."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(path.read_bytes(), True)
        return builder.close()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}; nothing was imported") from None
    except (expat.ExpatError, AssertionError) as exc:  # TreeBuilder asserts on a bad nesting
        raise InputError(f"{path}: not valid XML ({exc}); nothing was imported") from None


def _person(node: ET.Element | None) -> str | None:
    if node is None:
        return None
    for key in ("email", "username"):
        text = (node.findtext(key) or "").strip()
        if text:
            return text
    text = (node.text or "").strip()
    return text or None


def _assignees(meta: ET.Element | None) -> tuple[str | None, list[tuple[int, int, str]]]:
    """(the job's or task's assignee, [(start, stop, assignee)] of segments naming one)."""
    if meta is None:
        return None, []
    holder = meta.find("job")
    if holder is None:
        holder = meta.find("task")
    if holder is None:
        holder = meta.find("project")
    if holder is None:
        return None, []
    segments = []
    for seg in holder.iter("segment"):
        who = _person(seg.find("assignee"))
        try:
            start, stop = int(seg.findtext("start", "")), int(seg.findtext("stop", ""))
        except ValueError:
            continue
        if who:
            segments.append((start, stop, who))
    return _person(holder.find("assignee")), segments


def _declared(meta: ET.Element | None) -> list[str]:
    if meta is None:
        return []
    return sorted({nfc(n.strip()) for n in (x.findtext("name") for x in meta.iter("label")) if n})


def read_xml(
    path: Path, *, image_root: Path, path_map: list[tuple[str, str]], allowed: set[str] | None
) -> ForeignExport:
    """Parse and validate a "CVAT for images 1.1" annotations.xml."""
    root = parse_xml(path)
    if root.tag != "annotations":
        raise InputError(f"{path}: not a CVAT for images XML (<annotations>); nothing imported")
    meta = root.find("meta")
    out = ForeignExport("cvat", path, classes=_declared(meta))
    known = set(out.classes) if out.classes else allowed
    job, segments = _assignees(meta)
    stamp = (meta.findtext("dumped") if meta is not None else None) or ""
    resolver = Resolver(path, image_root, path_map)
    auto = 0
    for n, node in enumerate(root.iter("image"), 1):
        record = f"image {node.get('id', f'#{n}')} ({node.get('name', '')})"
        name = node.get("name")
        if not name:
            raise bad_record(path, record, "no name attribute")
        rel = resolver.relpath(record, name, by_name=True)
        frame = int(node.get("id", n - 1)) if node.get("id", "").isdigit() else n - 1
        who = next((w for a, b, w in segments if a <= frame <= b), job) or FALLBACK_ANNOTATOR
        labels = []
        for k, tag in enumerate(node.findall("tag")):
            label = class_name(path, record, tag.get("label"), known)
            if tag.get("source") == AUTO:
                auto += 1
                continue
            labels.append(label)
            vote_id = stable_id("cvat", rel, frame, k, who, label)
            out.votes.append(ForeignVote(who, rel, label, vote_id, parse_time(stamp), record))
        out.images.append(ForeignImage(rel, labels[0] if labels else None, record))
    if auto:
        out.notes.append(f"{auto} tags left as pre-annotated (source auto) are not votes")
    _check_unique(out)
    return out


def _check_unique(out: ForeignExport) -> None:
    seen: dict[str, str] = {}
    for image in out.images:
        if image.path in seen:
            raise bad_record(
                out.source, image.record, f"image {image.path!r} is also {seen[image.path]}"
            )
        seen[image.path] = image.record


def read_datumaro(
    path: Path, *, image_root: Path, path_map: list[tuple[str, str]], allowed: set[str] | None
) -> ForeignExport:
    """Parse and validate a Datumaro JSON (``annotations/default.json``) with label annotations."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise InputError(f"{path}: not a Datumaro JSON (no 'items' list); nothing imported")
    labels = ((doc.get("categories") or {}).get("label") or {}).get("labels") or []
    names = [nfc(str(x.get("name", "")).strip()) for x in labels if isinstance(x, dict)]
    out = ForeignExport("datumaro", path, classes=sorted(set(names)))
    known = set(names) if names else allowed
    resolver = Resolver(path, image_root, path_map)
    for n, item in enumerate(doc["items"], 1):
        record = f"item {item.get('id', f'#{n}') if isinstance(item, dict) else f'#{n}'}"
        if not isinstance(item, dict):
            raise bad_record(path, record, "not an item object")
        media = item.get("image") or item.get("media") or {}
        ref = media.get("path") if isinstance(media, dict) else None
        if not isinstance(ref, str) or not ref:
            raise bad_record(path, record, "no image path")
        rel = resolver.relpath(record, ref)
        given = None
        for k, ann in enumerate(item.get("annotations") or []):
            if not isinstance(ann, dict) or ann.get("type") != "label":
                continue
            index = ann.get("label_id")
            if not isinstance(index, int) or not 0 <= index < len(names):
                raise bad_record(path, record, f"label_id {index!r} is not a declared label")
            label = class_name(path, record, names[index], known)
            who = _datumaro_annotator(ann)
            vote_id = stable_id("datumaro", rel, ann.get("id", k), k, who, label)
            out.votes.append(ForeignVote(who, rel, label, vote_id, None, record))
            given = given or label
        out.images.append(ForeignImage(rel, given, record))
    _check_unique(out)
    return out


def _datumaro_annotator(ann: dict[str, Any]) -> str:
    attributes = ann.get("attributes")
    if isinstance(attributes, dict):
        for key in ("annotator", "assignee", "user"):
            value = attributes.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return FALLBACK_ANNOTATOR


# -- out: review tasks ---------------------------------------------------------------------------
def review_xml(items: list[ReviewItem], class_names: list[str], *, task_name: str) -> str:
    """CVAT for images 1.1 annotations to upload into a task made from the listed images: the
    suggestion (else the given label) as a pre-annotated tag (source auto) per image."""
    labels = "".join(
        f"        <label>\n          <name>{escape(c)}</name>\n          <type>tag</type>\n"
        "          <attributes/>\n        </label>\n"
        for c in class_names
    )
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<annotations>",
        "  <version>1.1</version>",
        "  <meta>",
        "    <task>",
        f"      <name>{escape(task_name)}</name>",
        f"      <size>{len(items)}</size>",
        "      <mode>annotation</mode>",
        f"      <labels>\n{labels}      </labels>",
        "    </task>",
        "  </meta>",
    ]
    for i, item in enumerate(items):
        lines.append(f"  <image id={quoteattr(str(i))} name={quoteattr(item.path)}>")
        label = item.suggested or item.given
        if label is not None:
            lines.append(f"    <tag label={quoteattr(label)} source={quoteattr(AUTO)}/>")
        lines.append("  </image>")
    lines.append("</annotations>")
    return "\n".join(lines) + "\n"
