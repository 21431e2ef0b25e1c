"""Tables of the SQL store (SQLAlchemy Core: bulk inserts need no ORM objects).

The Alembic revisions under migrations/ create exactly these tables; change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
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
