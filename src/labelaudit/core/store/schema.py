"""The project's tables (SQLAlchemy Core; the same schema on SQLite and PostgreSQL).

Bulk data (pred_probs, scores, embeddings) lives in ``arrays`` as chunked ``.npy`` blobs keyed by
owner, always stored with the image-id vector it belongs to, so rows never shift silently.
Times are UTC epoch seconds (``Float``): portable, sortable, and cheap to compare.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 2  # 2: images.brightness and images.sharpness

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Key/value facts about the project: schema_version, project_id, image_root, created_at.
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Project settings (votes_required, min_agreement, blind, ...), JSON-encoded values.
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

classes = sa.Table(
    "classes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

# status: ok | broken | missing. problem: a reason code from dataset.problems (broken images).
images = sa.Table(
    "images",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), nullable=True),
    sa.Column("split", sa.String(32), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=True, index=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("format", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("problem", sa.String(48), nullable=True),
    sa.Column("problem_detail", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # Image properties from the import's decode (inspect.image_properties); NULL: not measured.
    sa.Column("brightness", sa.Float, nullable=True),
    sa.Column("sharpness", sa.Float, nullable=True),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("source", sa.String(16), nullable=False),  # folder | manifest
    sa.Column("manifest", sa.Text, nullable=True),
    sa.Column("stats", sa.Text, nullable=False, default="{}"),  # JSON
)

# Problems found by the latest import of each path (files and manifest rows alike).
import_problems = sa.Table(
    "import_problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("reason", sa.String(48), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)

# Rows written in chunks by a long import and published in one short transaction.
import_staging = sa.Table(
    "import_staging",
    metadata,
    sa.Column("import_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # new | update | move
    sa.Column("image_id", sa.Integer, nullable=True),  # the existing row for update and move
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("split", sa.String(32), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("format", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("problem", sa.String(48), nullable=True),
    sa.Column("problem_detail", sa.Text, nullable=True),
    sa.Column("brightness", sa.Float, nullable=True),
    sa.Column("sharpness", sa.Float, nullable=True),
)

# status: running | done | failed | cancelled. class_names: the frozen class order (JSON list).
scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # cv | pred_probs
    sa.Column("config", sa.Text, nullable=False),  # JSON
    sa.Column("versions", sa.Text, nullable=False),  # JSON
    sa.Column("timings", sa.Text, nullable=False, default="{}"),  # JSON
    sa.Column("summary", sa.Text, nullable=False, default="{}"),  # JSON: dataset-level findings
    sa.Column("class_names", sa.Text, nullable=False),  # JSON list, index = class index
    sa.Column("n_images", sa.Integer, nullable=False),
    sa.Column("folds_done", sa.Integer, nullable=False, default=0),
    sa.Column("host", sa.Text, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

# Chunked numpy arrays. owner is e.g. "scan:3"; name e.g. "pred_probs"; chunk 0..n-1 along axis 0.
arrays = sa.Table(
    "arrays",
    metadata,
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True),
    sa.Column("dtype", sa.String(16), nullable=False),
    sa.Column("shape", sa.Text, nullable=False),  # JSON list: the whole array's shape
    sa.Column("data", sa.LargeBinary, nullable=False),
)

annotators = sa.Table(
    "annotators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),  # annotator | lead
    sa.Column("created_at", sa.Float, nullable=False),
)

# Append-only. kind: label | drop | unsure | retract (retract undoes the vote named in `retracts`).
votes = sa.Table(
    "votes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # global insertion order
    sa.Column("id", sa.String(36), nullable=False, unique=True),  # client UUID: retries idempotent
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), nullable=True),
    sa.Column("is_keep", sa.Boolean, nullable=False, default=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("suggestion_shown", sa.Boolean, nullable=False, default=False),
    sa.Column("retracts", sa.String(36), nullable=True),
    sa.Column("stale", sa.Boolean, nullable=False, default=False),
)

# A lead's final decision. kind: label | drop. supersedes: the lead decision it replaces.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("supersedes", sa.String(36), nullable=True),
    sa.Column("stale", sa.Boolean, nullable=False, default=False),
)

# Images put into review by hand (a lead), by a vote on an unflagged image, or by a changed file.
review_requests = sa.Table(
    "review_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False, index=True),
    sa.Column("reason", sa.String(32), nullable=False),  # lead | vote | changed
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

consensus_runs = sa.Table(
    "consensus_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("summary", sa.Text, nullable=False),  # JSON
)

exports = sa.Table(
    "exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("out_dir", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("counts", sa.Text, nullable=False),  # JSON
)

# Every change, with who (annotator name, OS user, host) and what. Its max id is the change counter
# the app polls, the same on SQLite and PostgreSQL.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("os_user", sa.Text, nullable=True),
    sa.Column("host", sa.Text, nullable=True),
    sa.Column("actor", sa.Text, nullable=True),
    sa.Column("action", sa.String(48), nullable=False, index=True),
    sa.Column("target", sa.Text, nullable=True),
    sa.Column("details", sa.Text, nullable=True),  # JSON
)

sa.Index("ix_votes_annotator_image", votes.c.annotator_id, votes.c.image_id)
