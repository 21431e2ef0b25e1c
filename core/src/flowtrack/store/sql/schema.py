"""Tables of the SQL store (SQLAlchemy Core: bulk inserts need no ORM objects).

The Alembic revisions under migrations/ create exactly these tables; change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases rowid for a column typed exactly INTEGER.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", String(2000), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", String(8000), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("run_name", String(250), nullable=False),
    Column("parent_run_id", String(32), nullable=True),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("source_type", String(20), nullable=False),
    # JSON object: the reference into the producing system (dag_id, run_id, task_id, try ...).
    Column("source_ref", Text, nullable=False),
    Column("artifact_uri", String(2000), nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    Index(None, "experiment_id", "start_time"),
    Index(None, "parent_run_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", String(6000), nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", String(8000), nullable=False),
)

# Full history, in blocks: one row per run, key and delivered batch, holding that batch's
# points as packed little-endian arrays (see store/sql/blocks.py). A row per point would cap
# ingest at SQLite's row rate; a block of 1,000 points costs about what one row does.
metric_blocks = Table(
    "metric_blocks",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index(None, "run_id", "key"),
)

# NaN is stored as NULL here: SQLite cannot hold NaN in a REAL column, and one rule for both
# backends keeps search semantics equal (NaN never matches a comparison).
# The value at the highest (step, timestamp) per run and key: what `run.data.metrics` shows
# and what search compares against, without scanning the history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float(53), nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index(None, "key", "value"),
)

# How far each client journal (one per logging process) has been applied. Events carry a
# sequence number, so delivering a journal twice (a retry, a replay after a crash) writes once.
journals = Table(
    "journals",
    metadata,
    Column("journal_id", String(64), primary_key=True),
    Column("applied_seq", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# Lineage: a dataset version is a content digest at a place (a local path or a URL); the same
# content at the same place is one version. `run_datasets` says which runs read or wrote it.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("version_id", String(32), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("uri", String(2000), nullable=False),
    Column("digest", String(200), nullable=False),
    Column("algorithm", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("created_by_run_id", String(32), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    UniqueConstraint("uri", "digest"),
    Index(None, "digest"),
    Index(None, "name"),
)

run_datasets = Table(
    "run_datasets",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column(
        "version_id",
        String(32),
        ForeignKey("dataset_versions.version_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("direction", String(10), primary_key=True),
    Index(None, "version_id"),
)


# -- model registry ---------------------------------------------------------------------------
# Child tables key on `model_id`, not the name, so a rename is one row. `last_version` is the
# per-model counter versions are numbered from: incremented under the model row's lock, never
# reused after a version is deleted. Every change also writes a `registry_events` row in the
# same transaction (the audit trail); events keep the model's name and id but no foreign key,
# so the history outlives the model.
registered_models = Table(
    "registered_models",
    metadata,
    Column("model_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", String(5000), nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("last_version", Integer, nullable=False),
    # Never reuse the id of a deleted model: its audit events still carry it.
    sqlite_autoincrement=True,
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", String(8000), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("source", String(2000), nullable=False),
    Column("storage_location", String(2000), nullable=False),
    # No foreign key: a version outlives the deletion of its run.
    Column("run_id", String(32), nullable=True),
    Column("status", String(20), nullable=False),
    Column("status_message", String(500), nullable=True),
    Column("current_stage", String(20), nullable=False),
    Column("description", String(5000), nullable=True),
    Column("user_id", String(256), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Index(None, "run_id"),
    Index(None, "model_id", "current_stage"),
)


def _version_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    )


model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", String(8000), nullable=False),
    _version_fk(),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("model_id", Integer, primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    _version_fk(),
)

# The dataset versions the source run had read (its inputs) when the version was registered.
model_version_datasets = Table(
    "model_version_datasets",
    metadata,
    Column("model_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column(
        "dataset_version_id",
        String(32),
        ForeignKey("dataset_versions.version_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _version_fk(),
    Index(None, "dataset_version_id"),
)

registry_events = Table(
    "registry_events",
    metadata,
    Column("event_id", _BigId, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("action", String(32), nullable=False),
    Column("model_id", Integer, nullable=True),
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=True),
    # JSON object: the values involved, e.g. {"old": "Staging", "new": "Production"}.
    Column("detail", Text, nullable=False),
    Index(None, "model_id", "event_id"),
    Index(None, "name", "event_id"),
)


# -- authentication and permissions (the server's --auth) ---------------------------------------
# Ids are never reused (sqlite_autoincrement): SQLite does not enforce the ON DELETE CASCADE
# below, so a permission row left behind by a deleted user or model must never apply to a new
# one that happens to get the same id.
users = Table(
    "users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    # "scrypt$n$r$p$salt$hash" or "pbkdf2_sha256$iterations$salt$hash" (server/auth/secrets.py).
    Column("password_hash", String(512), nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# API tokens: only the SHA-256 of the token is kept (a token is 32 random bytes, so a slow hash
# adds nothing); the token itself is shown once, when it is created.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("expiry_time", BigInteger, nullable=True),
    UniqueConstraint("user_id", "name"),
    sqlite_autoincrement=True,
)

# Explicit grants: READ, EDIT, MANAGE or NONE (an explicit "no access" below the default).
experiment_permissions = Table(
    "experiment_permissions",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("permission", String(16), nullable=False),
    Index(None, "user_id"),
)

registered_model_permissions = Table(
    "registered_model_permissions",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("permission", String(16), nullable=False),
    Index(None, "user_id"),
)


# -- discussions (flowtrack/comments.py) -----------------------------------------------------------
# One table for the three kinds of target. `target_id` is the run id, the dataset version id, or
# "<model_id>/<version>" (the model's id, not its name, so a rename keeps the thread). No foreign
# keys: a comment outlives the deletion of what it discusses (a run is only marked deleted, and
# an audit of why a model version was deleted is worth keeping). Deleted comments keep their row
# (body emptied) so that the replies to them keep their thread.
comments = Table(
    "comments",
    metadata,
    Column("comment_id", _BigId, primary_key=True, autoincrement=True),
    Column("target_kind", String(20), nullable=False),
    Column("target_id", String(300), nullable=False),
    Column("reply_to", BigInteger, nullable=True),
    Column("author", String(256), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Index(None, "target_kind", "target_id", "comment_id"),
    Index(None, "reply_to"),
    sqlite_autoincrement=True,
)
