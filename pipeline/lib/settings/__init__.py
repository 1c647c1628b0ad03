"""The one place the environment is read, at call time (README.md, Configuration): where things
live here; providers and AWS in `providers`, e-mail, Slack and operator alerts in `notify`.
Secrets are looked at only for presence (`is_set`) or handed straight to the one consumer that
needs them, never into a value that is shown."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def environment(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """The variables settings are read from: this process's, or a test's mapping instead."""
    return os.environ if environ is None else environ


def is_set(variable: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `variable` has a value: how secrets are looked at (never their value)."""
    return bool(environment(environ).get(variable))


def dagster_home() -> str | None:
    """DAGSTER_HOME, the Dagster instance's folder; None when unset."""
    return os.environ.get("DAGSTER_HOME") or None


def default_dagster_home() -> Path:
    """DAGSTER_HOME, set to `.dagster_home/` in the repository when unset: Dagster reads it
    from the environment, so this process and its children open the same instance."""
    return Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # A DuckDB file path (embedded default) or a `ducklake:` URL (pipeline.lib.lake); open it
    # only through the `warehouse` resource or pipeline.lib.warehouse.
    warehouse: Path | str
    landing: str
    outbox: Path
    config_dir: Path
    samples_dir: Path
    # The largest sales file `pipeline ingest` copies in and the landing sensor reads.
    max_file_bytes: int

    @property
    def landing_is_s3(self) -> bool:
        return self.landing.startswith("s3://")


def settings() -> Settings:
    """Paths for this process. Relative paths are taken from the repository root, not the cwd,
    so `dagster dev`, the CLI and tests started from anywhere agree."""
    data_dir = _resolve(os.environ.get("PIPELINE_DATA_DIR", "data"))
    landing = os.environ.get("PIPELINE_LANDING", "")
    if not landing:
        landing = str(data_dir / "landing")
    elif not landing.startswith("s3://"):
        landing = str(_resolve(landing))
    return Settings(
        data_dir=data_dir,
        warehouse=_warehouse(
            os.environ.get("PIPELINE_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
        ),
        landing=landing,
        outbox=_resolve(os.environ.get("PIPELINE_OUTBOX", str(data_dir / "outbox"))),
        # Config and samples ship with the code; they move only when asked to.
        config_dir=_resolve(os.environ.get("PIPELINE_CONFIG_DIR", "data/config")),
        samples_dir=_resolve(os.environ.get("PIPELINE_SAMPLES_DIR", "data/samples")),
        max_file_bytes=_max_file_bytes(),
    )


DEFAULT_MAX_FILE_MB = 500


def _number(variable: str, default: float, accepted, expected: str) -> float:
    """The finite number in `variable` (`default` when unset) for which `accepted` holds, else
    one ValueError naming the variable, the value and what was `expected`."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or not accepted(number):
        raise ValueError(f"{variable}: {value!r} is not {expected} (default {default:g})")
    return number


def _max_file_bytes() -> int:
    """PIPELINE_MAX_FILE_MB (MB of 2**20 bytes, fractions allowed) as bytes."""
    megabytes = _number(
        "PIPELINE_MAX_FILE_MB",
        DEFAULT_MAX_FILE_MB,
        lambda number: number > 0,
        "a positive number of megabytes",
    )
    return int(megabytes * 2**20)


def recipient_events_location() -> Path | str:
    """Where `pipeline serve` appends what recipients do (pipeline.lib.notify.recipient_events):
    PIPELINE_EVENTS_URL, else the instance's PostgreSQL (DAGSTER_PG_URL), else a SQLite file
    in the data dir. A `postgresql://` URL stays a string; anything else is a SQLite path."""
    value = os.environ.get("PIPELINE_EVENTS_URL", "").strip()
    value = value or os.environ.get("DAGSTER_PG_URL", "").strip()
    if value.startswith(("postgresql://", "postgres://")):
        return value
    return _resolve(value) if value else settings().data_dir / "recipient_events.sqlite"


def _warehouse(value: str) -> Path | str:
    if not value.startswith("ducklake:"):
        return _resolve(value)
    # A catalog file path is taken from the repository root like every other path.
    catalog = value.removeprefix("ducklake:")
    if catalog.startswith("sqlite:"):
        return f"ducklake:sqlite:{_resolve(catalog.removeprefix('sqlite:'))}"
    if catalog.startswith("postgres:"):
        return value
    return f"ducklake:{_resolve(catalog)}"


def lake_data() -> str | None:
    """PIPELINE_LAKE_DATA: where a DuckLake warehouse keeps its data files (s3://bucket/prefix/
    or a folder); unset means what the lake's catalog recorded when it was created."""
    value = os.environ.get("PIPELINE_LAKE_DATA", "")
    if not value or value.startswith("s3://"):
        return value or None
    return str(_resolve(value))


DEFAULT_LAKE_SNAPSHOT_DAYS = 7.0
# A query reads the files of the snapshot its transaction began on: expiring snapshots younger
# than this could delete files under a query still running in another process.
MIN_LAKE_SNAPSHOT_DAYS = 1.0


def lake_snapshot_days() -> float:
    """PIPELINE_LAKE_SNAPSHOT_DAYS: how long a DuckLake warehouse keeps the snapshots it no longer
    needs, i.e. how far back time travel reaches; compaction expires older ones and deletes the
    files only they used. Fractions allowed, at least MIN_LAKE_SNAPSHOT_DAYS."""
    return _number(
        "PIPELINE_LAKE_SNAPSHOT_DAYS",
        DEFAULT_LAKE_SNAPSHOT_DAYS,
        lambda days: days >= MIN_LAKE_SNAPSHOT_DAYS,
        f"a number of days >= {MIN_LAKE_SNAPSHOT_DAYS:g} (a query still running on an"
        " expired snapshot would lose its files)",
    )


@dataclass(frozen=True)
class OpsAccess:
    """Who may read /healthz and /metrics: a client in one of `networks` or one that sends
    `Authorization: Bearer <token>`; anyone when neither is configured."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    token: str = field(default="", repr=False)

    @property
    def restricted(self) -> bool:
        return bool(self.networks or self.token)


def ops_access() -> OpsAccess:
    """PIPELINE_OPS_NETWORKS (comma-separated CIDRs) and PIPELINE_OPS_TOKEN. A bad CIDR is a
    ValueError naming it: `pipeline serve` refuses to start rather than open the endpoints."""
    networks = []
    for value in os.environ.get("PIPELINE_OPS_NETWORKS", "").split(","):
        if value.strip():
            try:
                networks.append(ipaddress.ip_network(value.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"PIPELINE_OPS_NETWORKS: {value.strip()!r} is not a CIDR"
                ) from None
    return OpsAccess(tuple(networks), os.environ.get("PIPELINE_OPS_TOKEN", "").strip())


DEFAULT_UI_URL = "http://127.0.0.1:3000"  # where `make dev` starts `dagster dev`


def ui_url() -> str:
    """PIPELINE_UI_URL: the Dagster UI operator alerts link to (`<ui>/runs/<run_id>`)."""
    return (os.environ.get("PIPELINE_UI_URL", "").strip() or DEFAULT_UI_URL).rstrip("/")


def schedule_cron(cron: str) -> str:
    """A schedule's cron, or PIPELINE_SCHEDULE_CRON for every schedule when set (a soak test
    makes them all tick every minute with "* * * * *")."""
    return os.environ.get("PIPELINE_SCHEDULE_CRON", "").strip() or cron


# The daily partitions' fixed start before PIPELINE_START_DATE: a warehouse from then may hold
# any day since, so it keeps this start until told otherwise.
PREVIOUS_START_DATE = dt.date(2026, 1, 1)
START_DATE_FILE = "partitions_start_date"


class StartDateError(ValueError):
    """PIPELINE_START_DATE, or the start recorded in the data dir, is not a usable first day."""


def partitions_start_date(today: dt.date | None = None) -> dt.date:
    """The first daily partition, recorded in `$PIPELINE_DATA_DIR/partitions_start_date` when
    PIPELINE_START_DATE is unset and nothing is recorded yet: today (UTC) for a new data dir,
    2026-01-01 when a warehouse is already there (or is a shared DuckLake) and may hold data
    from any day since. Moving the start later hides the partitions of existing data, so it may
    only move earlier. Called at start-up (the definitions loader, restore); reading the start
    is first_partition_day."""
    today = today or dt.datetime.now(dt.UTC).date()
    recorded = settings().data_dir / START_DATE_FILE
    if not os.environ.get("PIPELINE_START_DATE", "").strip() and not recorded.exists():
        _record_once(recorded, _first_day_to_record(today).isoformat())
    return first_partition_day(today)


def first_partition_day(today: dt.date | None = None) -> dt.date:
    """The first daily partition without writing anything: PIPELINE_START_DATE, else the day
    recorded in the data dir, else the day partitions_start_date would record now."""
    today = today or dt.datetime.now(dt.UTC).date()
    if value := os.environ.get("PIPELINE_START_DATE", "").strip():
        return _checked_start_date(value, "PIPELINE_START_DATE", today)
    recorded = settings().data_dir / START_DATE_FILE
    if not recorded.exists():
        return _first_day_to_record(today)
    return _checked_start_date(recorded.read_text().strip(), str(recorded), today)


def _first_day_to_record(today: dt.date) -> dt.date:
    current = settings()
    new_deployment = isinstance(current.warehouse, Path) and not current.warehouse.exists()
    return today if new_deployment else PREVIOUS_START_DATE


def cover_partitions_from(first_day: dt.date) -> str | None:
    """Let the daily partitions reach back to `first_day`, the first day of restored data: the
    recorded start moves earlier when it is later. Returns a line for the operator when the start
    moved, or when PIPELINE_START_DATE holds it later; None when nothing needs saying."""
    current = partitions_start_date()
    if current <= first_day:
        return None
    if os.environ.get("PIPELINE_START_DATE", "").strip():
        return (
            f"the restored data starts on {first_day}, before PIPELINE_START_DATE ({current}): "
            f"set it to {first_day} or those days have no daily partition"
        )
    recorded = settings().data_dir / START_DATE_FILE
    staged = recorded.with_name(f".{recorded.name}.{os.getpid()}")
    staged.write_text(first_day.isoformat() + "\n")
    os.replace(staged, recorded)
    return (
        f"daily partitions now start on {first_day}, the restored data's first day (was "
        f"{current}); reload the code location to see them"
    )


def _checked_start_date(value: str, source: str, today: dt.date) -> dt.date:
    try:
        start = dt.date.fromisoformat(value)
    except ValueError:
        raise StartDateError(
            f"{source}: {value!r} is not an ISO date (YYYY-MM-DD), e.g. {today.isoformat()}"
        ) from None
    if start > today:
        raise StartDateError(
            f"{source}: {value} is after today ({today.isoformat()} UTC), so there would be no "
            "daily partition; use the deployment's first day of data"
        )
    return start


def _record_once(path: Path, value: str) -> None:
    """Write `value` to `path` unless another process wrote it first (a concurrent first load
    just after midnight must not move the start later)."""
    try:
        write_once(path, value)
    except OSError as error:
        raise StartDateError(
            f"cannot record the partitions' start date in {path} ({error}); set "
            "PIPELINE_START_DATE to the deployment's first day of data"
        ) from error


def write_once(path: Path, value: str, mode: int = 0o644) -> str:
    """Create `path` holding `value` (with `mode`) unless it exists, and return what it holds:
    the file appears whole (written aside, then hard-linked into place), and when processes
    race the first link wins, so all of them return the same value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(value + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked first
                os.link(staged, path)
        finally:
            staged.unlink()
    return path.read_text(encoding="utf-8").strip()
