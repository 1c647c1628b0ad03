"""A new datasource is growth, not a volume anomaly: the real supermarket file after several
sample ingests passes every volume check (each datasource is compared with its own history)."""

from __future__ import annotations

from pipeline.definitions import defs
from pipeline.defs.sales.operations import process_now, seed_sample_uploads
from pipeline.defs.shared.resources import warehouse_resource


def test_first_real_file_after_samples_raises_no_volume_warning(instance, land, supermarket_csv):
    loaded = defs()
    samples = seed_sample_uploads(instance, warehouse_resource())
    assert samples
    # A few demos' worth of sample loads: enough history for a trailing median.
    for _ in range(2):
        for partition in samples:
            assert all(r.success for r in process_now(loaded, instance, partition))
    [result] = process_now(
        loaded, instance, land(supermarket_csv, "supermarket", instance=instance)
    )
    assert result.success
    assert result.dagster_run.job_name == "sales_ingest_job", "named on the Runs page"
    volume = [c for c in result.get_asset_check_evaluations() if c.check_name == "volume_anomaly"]
    assert {c.asset_key.to_user_string() for c in volume} >= {"sales_transactions", "sales_daily"}
    assert [(c.asset_key.to_user_string(), c.description) for c in volume if not c.passed] == []
