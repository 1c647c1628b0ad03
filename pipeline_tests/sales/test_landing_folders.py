"""Folder names in the landing zone are datasource names: the same rule as
`pipeline ingest --datasource`, and a bad folder's files are quarantined, never deleted."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.definitions import defs
from pipeline.lib.hashing import file_hash
from pipeline.lib.sales.landing import DATASOURCE_RULE, upload_key
from pipeline.lib.sales.partition_keys import partition_key
from pipeline_tests.sales.test_sensor import settle, tick


def test_a_file_in_a_badly_named_folder_is_quarantined_with_a_reason(
    instance, landing, supermarket_csv, superstore_csv
):
    for folder in ("my shop", "-dash"):
        landing.put_file(supermarket_csv, upload_key(folder, "orders.csv"))
        settle(landing.root / upload_key(folder, "orders.csv"))
    landing.put_file(superstore_csv, upload_key("store", superstore_csv.name))
    settle(landing.root / upload_key("store", superstore_csv.name))

    result = tick(instance, defs())

    # The good folder is ingested as usual; the bad ones get no partition and no run.
    assert {r.partition_key for r in result.run_requests} == {
        partition_key(superstore_csv.name, file_hash(superstore_csv))
    }
    for folder in ("my shop", "-dash"):
        assert not (landing.root / upload_key(folder, "orders.csv")).exists()
        moved = landing.root / "rejected" / folder / "orders.csv"
        assert moved.read_bytes() == supermarket_csv.read_bytes()  # nothing lost
        report = json.loads((moved.parent / "orders.csv.errors.json").read_text())
        assert report["folder"] == folder and report["nothing_loaded"] is True
        assert f"{folder!r} is not a valid datasource name" in report["reason"]
        assert DATASOURCE_RULE in report["reason"]
    # Quarantined once: the next tick has nothing to say about them.
    again = tick(instance, defs(), result.cursor)
    assert not again.run_requests


def test_the_cli_applies_the_same_rule(pipeline_env, supermarket_csv):
    result = CliRunner().invoke(main, ["ingest", str(supermarket_csv), "--datasource", "my shop"])
    assert result.exit_code == 2
    assert "'my shop' is not a valid datasource name" in result.output
    assert DATASOURCE_RULE in " ".join(result.output.split())
