"""What the landing zone refuses before reading a byte (issue 22 items 4 and 5): links and paths
resolving outside the zone, file names with control characters, files over the size limit.
Each is moved to rejected/ beside a one-line reason and nothing of it is loaded or repeated."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.definitions import defs
from pipeline.lib.sales.landing import upload_key
from pipeline_tests.sales.conftest import connect, process_landed
from pipeline_tests.sales.test_sensor import settle, tick

SECRET = "root:x:0:0:SECRET-LINE-FROM-OUTSIDE:/root:/bin/bash"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the landing zone holding a secret file and a good sales file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.csv").write_text(SECRET + "\nnobody:x:65534\n")
    return folder


@pytest.fixture
def sensor_log(capfd):
    """What the sensor logged: Dagster's console logger writes to stderr, one record a line
    starting with its timestamp."""

    def read() -> list[str]:
        return capfd.readouterr().err.splitlines()

    return read


def link(landing, key: str, target: Path) -> Path:
    path = landing.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    os.utime(path, (0, 0), follow_symlinks=False)  # settled
    return path


def sales_rows() -> int:
    with connect() as conn:
        return conn.execute("SELECT count(*) FROM sales.files").fetchone()[0]


def reports(landing) -> str:
    return "\n".join(p.read_text() for p in landing.root.rglob("*.errors.json"))


def one_line_warnings(log_lines: list[str]) -> list[str]:
    """The warnings, checking no record was split over lines (every line is a record's)."""
    assert all(re.match(r"\d{4}-\d\d-\d\d ", line) for line in log_lines if line), log_lines
    return [line for line in log_lines if " - WARNING - " in line]


def test_links_in_the_zone_are_refused_unread(
    instance, landing, outside, supermarket_csv, sensor_log
):
    (outside / "orders.csv").write_bytes(supermarket_csv.read_bytes())
    link(landing, "sales/ok/secret.csv", outside / "secret.csv")
    link(landing, "sales/ok/orders.csv", outside / "orders.csv")
    if Path("/etc/passwd").is_file():
        link(landing, "sales/ok/passwd.csv", Path("/etc/passwd"))
    landing.put_file(supermarket_csv, upload_key("ok", "real.csv"))
    settle(landing.root / "sales/ok/real.csv")
    # A link to a file inside the zone is a link all the same.
    link(landing, "sales/ok/inside.csv", landing.root / "sales/ok/real.csv")

    result = tick(instance, defs())

    assert [r.tags["sales/file"] for r in result.run_requests] == ["real.csv"]
    for name in ("secret.csv", "orders.csv", "inside.csv"):
        moved = landing.root / "rejected/ok" / name
        assert moved.is_symlink()  # the link moved, never what it points to
        report = json.loads((moved.parent / f"{name}.errors.json").read_text())
        assert "symbolic link" in report["reason"] and report["nothing_loaded"] is True
    assert (outside / "secret.csv").read_text().startswith(SECRET)
    assert (outside / "orders.csv").read_bytes() == supermarket_csv.read_bytes()
    log_lines = sensor_log()
    written = reports(landing) + "\n".join(log_lines)
    assert "SECRET-LINE" not in written
    if Path("/etc/passwd").is_file():
        first_line = Path("/etc/passwd").read_text().splitlines()[0]
        assert first_line not in written
    warnings = one_line_warnings(log_lines)
    assert any("'sales/ok/secret.csv'" in w and "symbolic link" in w for w in warnings)
    assert sales_rows() == 1  # only real.csv was registered
    again = tick(instance, defs(), result.cursor)
    assert not again.run_requests


def test_a_linked_datasource_folder_is_refused_unread(instance, landing, outside, sensor_log):
    link(landing, "sales/elsewhere", outside)

    result = tick(instance, defs())

    assert not result.run_requests
    assert (landing.root / "rejected/elsewhere").is_symlink()
    assert not (landing.root / "sales/elsewhere").exists()
    report = json.loads((landing.root / "rejected/elsewhere.errors.json").read_text())
    assert "symbolic link" in report["reason"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]  # nothing moved out
    assert "SECRET-LINE" not in reports(landing) + "\n".join(sensor_log())
    assert sales_rows() == 0


def test_a_file_replaced_by_a_link_after_landing_is_rejected_unread(
    land, landing, outside, supermarket_csv
):
    partition = land(supermarket_csv, "shop")
    path = landing.root / upload_key("shop", supermarket_csv.name)
    path.unlink()
    path.symlink_to(outside / "secret.csv")

    outcome = process_landed(partition, landing)

    assert outcome.status == "rejected" and outcome.rows_loaded == 0
    assert "symbolic link" in outcome.reason and "\n" not in outcome.reason
    assert "SECRET-LINE" not in (landing.root / outcome.errors_key).read_text()
    assert (landing.root / outcome.landing_key).is_symlink()
    assert (outside / "secret.csv").read_text().startswith(SECRET)


@pytest.mark.parametrize("name", ["two\nlines.csv", "tab\there.csv", "bell\x07.csv"])
def test_a_file_name_with_a_control_character_is_refused(
    instance, landing, supermarket_csv, sensor_log, name
):
    landing.put_file(supermarket_csv, upload_key("shop", name))
    settle(landing.root / upload_key("shop", name))

    result = tick(instance, defs())

    assert not result.run_requests
    safe = "".join("_" if ord(c) < 32 or c == "\x7f" else c for c in name)
    moved = landing.root / "rejected/shop" / safe
    assert moved.read_bytes() == supermarket_csv.read_bytes()  # nothing lost
    report = json.loads((moved.parent / f"{safe}.errors.json").read_text())
    assert report["file"] == name and "control character" in report["reason"]
    assert any("control character" in w for w in one_line_warnings(sensor_log()))
    assert sales_rows() == 0


def test_a_folder_name_ending_in_a_newline_is_refused(instance, landing, supermarket_csv):
    landing.put_file(supermarket_csv, upload_key("shop\n", "orders.csv"))
    settle(landing.root / upload_key("shop\n", "orders.csv"))
    result = tick(instance, defs())
    assert not result.run_requests
    report = json.loads((landing.root / "rejected/shop_/orders.csv.errors.json").read_text())
    assert "'shop\\n' is not a valid datasource name" in report["reason"]


def test_a_linked_sales_folder_is_not_listed_and_nothing_is_moved_out_of_it(
    instance, landing, outside
):
    (outside / "shop").mkdir()
    (outside / "shop" / "orders.csv").symlink_to(outside / "secret.csv")
    landing.root.mkdir(parents=True, exist_ok=True)
    (landing.root / "sales").symlink_to(outside)

    result = tick(instance, defs())

    assert not result.run_requests
    assert (outside / "shop" / "orders.csv").is_symlink()  # left where it was
    assert not (landing.root / "rejected").exists()
    assert sales_rows() == 0


def test_ingest_lands_beside_a_link_of_the_same_name_without_reading_it(
    landing, outside, supermarket_csv
):
    link(landing, upload_key("shop", supermarket_csv.name), outside / "secret.csv")
    result = CliRunner().invoke(main, ["ingest", str(supermarket_csv), "--datasource", "shop"])
    assert result.exit_code == 0, result.output
    assert "SECRET-LINE" not in result.output
    [landed] = [p for p in (landing.root / "sales/shop").iterdir() if not p.is_symlink()]
    assert landed.name.startswith("supermarket_sales.") and landed.name != supermarket_csv.name
    assert landed.read_bytes() == supermarket_csv.read_bytes()
