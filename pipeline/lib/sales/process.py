"""One landed file from registration to outcome: stage, validate, then load its good rows or
reject it as a whole (moved to rejected/ beside <file>.errors.json, nothing loaded from it)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipeline.lib.hashing import canonical_json
from pipeline.lib.merge import merge_sql
from pipeline.lib.sales.formats import FileRejected, format_of
from pipeline.lib.sales.landing import (
    LandedFile,
    LocalLanding,
    S3Landing,
    rejected_key,
    with_hash_suffix,
)
from pipeline.lib.sales.loading import FileIdentity, load_stage
from pipeline.lib.sales.partition_keys import HASH_CHARS, hash_prefix, names_file, partition_key
from pipeline.lib.sales.quarantine import refusal
from pipeline.lib.sales.reading import DEFAULT_MAX_EXCEL_BYTES
from pipeline.lib.sales.spec import SpecError, load_spec
from pipeline.lib.sales.staging import reject_sample, stage_file
from pipeline.lib.warehouse import transaction

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
Landing = LocalLanding | S3Landing
# An inferred spec is written beside its file, for review, under the file's key + this.
SPEC_SUFFIX = ".spec.yaml"


@dataclass
class IngestOutcome:
    file_hash: str
    datasource: str
    file_name: str
    status: str  # loaded | rejected
    landing_key: str
    reason: str | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_replaced: int = 0
    format: str | None = None
    encoding: str | None = None
    spec_source: str | None = None
    spec_key: str | None = None
    errors_key: str | None = None
    reprocessed: bool = True  # False when the file had already left the zone: earlier outcome kept
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def register_file(
    conn: duckdb.DuckDBPyConnection,
    *,
    file_hash: str,
    landed: LandedFile,
    is_sample: bool = False,
) -> str:
    """Record a landed file under its content hash (a renamed or re-dropped copy of known
    content keeps the first record) and return the content's partition key."""
    conn.execute(
        merge_sql(
            "sales.files",
            [
                "file_hash",
                "datasource",
                "file_name",
                "landing_key",
                "size_bytes",
                "format",
                "status",
                "is_sample",
                "landed_at",
            ],
            "VALUES (?, ?, ?, ?, ?, ?, 'landed', ?, ?)",
        ),
        [
            file_hash,
            landed.datasource,
            landed.name,
            landed.key,
            landed.size,
            format_of(landed.name),
            is_sample,
            dt.datetime.now(dt.UTC),
        ],
    )
    [(first_name,)] = conn.execute(
        "SELECT file_name FROM sales.files WHERE file_hash = ?", [file_hash]
    ).fetchall()
    return partition_key(first_name, file_hash)


def registered_file(conn: duckdb.DuckDBPyConnection, file_hash: str) -> dict | None:
    relation = conn.execute("SELECT * FROM sales.files WHERE file_hash = ?", [file_hash])
    names = [d[0] for d in relation.description]
    rows = relation.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def registered_partition(conn: duckdb.DuckDBPyConnection, key: str) -> dict | None:
    """The sales.files row a partition key names (readable or full-hash form), or None."""
    relation = conn.execute(
        "SELECT * FROM sales.files WHERE starts_with(file_hash, ?)", [hash_prefix(key)]
    )
    names = [d[0] for d in relation.description]
    rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    matches = [row for row in rows if names_file(key, row["file_name"], row["file_hash"])]
    if len(matches) > 1:
        raise LookupError(f"partition {key} names {len(matches)} files; process them by hash")
    return matches[0] if matches else None


def _locate(connect: Connect, landing: Landing, key: str) -> dict:
    """A partition nobody registered (added by hand in the UI): find its file by hashing."""
    for landed in landing.list_files():
        if refusal(landing, landed):
            continue  # never read; the sensor moves it to rejected/
        digest = landing.hash_of(landed.key)
        if names_file(key, landed.name, digest):
            with connect() as conn:
                register_file(conn, file_hash=digest, landed=landed)
                return registered_file(conn, digest)
    raise LookupError(f"no file for partition {key} in the landing zone")


def process_file(
    key: str,
    *,
    connect: Connect,
    landing: Landing,
    config_dir: Path,
    work_root: Path,
    max_excel_bytes: int = DEFAULT_MAX_EXCEL_BYTES,
) -> IngestOutcome:
    """Stage, validate and load (or reject) the file partition `key` names."""
    with connect() as conn:
        row = registered_partition(conn, key)
    if row is None:
        row = _locate(connect, landing, key)
    file_hash = row["file_hash"]
    outcome = IngestOutcome(
        file_hash=file_hash,
        datasource=row["datasource"],
        file_name=row["file_name"],
        status=row["status"],
        landing_key=row["landing_key"],
        reason=row["reason"],
        rows_total=row["rows_total"] or 0,
        rows_loaded=row["rows_loaded"] or 0,
        rows_rejected=row["rows_rejected"] or 0,
        format=row["format"],
    )
    if not landing.exists(row["landing_key"]):
        outcome.reprocessed = False
        outcome.notes.append("file is no longer in the landing zone; earlier outcome kept")
        return outcome

    ident = FileIdentity(file_hash, row["datasource"], row["file_name"], bool(row["is_sample"]))
    work_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f"{file_hash[:HASH_CHARS]}-", dir=work_root))
    try:
        return _process(outcome, ident, connect, landing, config_dir, work_dir, max_excel_bytes)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _process(
    outcome: IngestOutcome,
    ident: FileIdentity,
    connect: Connect,
    landing: Landing,
    config_dir: Path,
    work_dir: Path,
    max_excel_bytes: int,
) -> IngestOutcome:
    spec = None
    try:
        spec = load_spec(config_dir, ident.datasource)
        with landing.local_path(outcome.landing_key) as path:
            stage = stage_file(
                path,
                name=ident.file_name,
                datasource=ident.datasource,
                spec=spec,
                work_dir=work_dir,
                max_excel_bytes=max_excel_bytes,
            )
    except (FileRejected, SpecError) as error:
        detail = getattr(error, "detail", None)
        return _reject_whole_file(outcome, ident, connect, landing, str(error), detail)

    outcome.format, outcome.encoding = stage.fmt, stage.encoding
    outcome.spec_source = stage.spec.source
    outcome.notes.extend(stage.notes)
    outcome.rows_total, outcome.rows_rejected = stage.rows_total, stage.rows_bad
    accept = stage.bad_ratio <= stage.spec.max_bad_row_ratio
    with connect() as conn:
        counts = load_stage(conn, stage.scratch, ident, load_rows=accept)
        outcome.rows_loaded, outcome.rows_replaced = counts["rows_loaded"], counts["rows_replaced"]
        if accept:
            outcome.status, outcome.reason = "loaded", None
        else:
            outcome.status = "rejected"
            outcome.reason = (
                f"{stage.rows_bad:,} of {stage.rows_total:,} rows are invalid"
                f" ({stage.bad_ratio:.1%} > max_bad_row_ratio {stage.spec.max_bad_row_ratio:.1%})"
            )
        _record(conn, outcome, stage.spec.as_dict())
    if not accept:
        errors, total = reject_sample(stage.scratch)
        _move_rejected(outcome, landing, connect, errors, total)
    if stage.spec.source == "inferred":
        # Written for review; copying it to data/config/sales/<datasource>.yaml adopts it.
        outcome.spec_key = outcome.landing_key + SPEC_SUFFIX
        landing.write_text(outcome.spec_key, stage.spec.to_yaml())
    return outcome


def _reject_whole_file(
    outcome: IngestOutcome,
    ident: FileIdentity,
    connect: Connect,
    landing: Landing,
    reason: str,
    detail: str | None,
) -> IngestOutcome:
    outcome.status, outcome.reason = "rejected", reason
    outcome.rows_loaded = 0
    with connect() as conn:
        now = dt.datetime.now(dt.UTC)
        with transaction(conn):
            conn.execute("DELETE FROM sales.rejects WHERE file_hash = ?", [ident.file_hash])
            conn.execute(
                "INSERT INTO sales.rejects VALUES (?, ?, ?, NULL, NULL, ?, NULL, ?)",
                [ident.file_hash, ident.datasource, ident.file_name, reason, now],
            )
            _record(conn, outcome, None)
    _move_rejected(outcome, landing, connect, [], 0, detail)
    return outcome


def _move_rejected(
    outcome: IngestOutcome,
    landing: Landing,
    connect: Connect,
    errors: list[dict],
    total: int,
    detail: str | None = None,
) -> None:
    """Move the file to rejected/ (never over another file) beside its errors report, which
    holds the full text behind a one-line reason (`detail`) when there is one."""
    target = rejected_key(outcome.landing_key)
    if landing.exists(target):
        target = with_hash_suffix(target, outcome.file_hash)
    report = {
        "file": outcome.file_name,
        "datasource": outcome.datasource,
        "file_hash": outcome.file_hash,
        "status": "rejected",
        "reason": outcome.reason,
        **({"detail": detail} if detail else {}),
        "rows_total": outcome.rows_total,
        "rows_rejected": outcome.rows_rejected,
        "nothing_loaded": True,
        "errors_total": total,
        "errors_listed": len(errors),
        "errors": errors,  # row = data row in the file (1 = first row after the header)
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    landing.write_text(target + ".errors.json", json.dumps(report, indent=2, default=str))
    landing.move(outcome.landing_key, target)
    outcome.landing_key, outcome.errors_key = target, target + ".errors.json"
    with connect() as conn:
        conn.execute(
            "UPDATE sales.files SET landing_key = ? WHERE file_hash = ?",
            [target, outcome.file_hash],
        )


def _record(conn: duckdb.DuckDBPyConnection, outcome: IngestOutcome, spec: dict | None) -> None:
    conn.execute(
        "UPDATE sales.files SET status = ?, reason = ?, rows_total = ?, rows_loaded = ?,"
        " rows_rejected = ?, format = coalesce(?, format), spec = ?, spec_source = ?,"
        " processed_at = ?,"
        " min_order_date = (SELECT min(order_date) FROM sales.transactions WHERE file_hash = ?),"
        " max_order_date = (SELECT max(order_date) FROM sales.transactions WHERE file_hash = ?)"
        " WHERE file_hash = ?",
        [
            outcome.status,
            outcome.reason,
            outcome.rows_total,
            outcome.rows_loaded,
            outcome.rows_rejected,
            outcome.format,
            canonical_json(spec) if spec else None,
            outcome.spec_source,
            dt.datetime.now(dt.UTC),
            outcome.file_hash,
            outcome.file_hash,
            outcome.file_hash,
        ],
    )
