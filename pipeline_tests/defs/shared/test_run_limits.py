import datetime as dt

import dagster as dg

from pipeline.defs.shared.run_limits import (
    DISCOVERY_TAGS,
    discovery_run_allowed,
    discovery_runs_remaining,
)


@dg.asset
def probe() -> int:
    return 1


def test_discovery_runs_are_counted_from_the_instance(instance):
    assert discovery_runs_remaining(instance) == 5
    for _ in range(4):
        dg.materialize([probe], instance=instance, tags=DISCOVERY_TAGS)
    dg.materialize([probe], instance=instance, tags={"pipeline/pool": "other"})
    assert discovery_runs_remaining(instance) == 1
    assert discovery_run_allowed(instance)

    dg.materialize([probe], instance=instance, tags=DISCOVERY_TAGS)
    assert not discovery_run_allowed(instance)
    # Five minutes on, the window is empty again.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5, seconds=1)
    assert discovery_run_allowed(instance, now=later)


def test_a_sensor_skips_when_the_rate_limit_is_spent(instance):
    job = dg.define_asset_job("probe_job", selection=[probe])

    @dg.sensor(job=job)
    def discovery_sensor(context: dg.SensorEvaluationContext):
        if not discovery_run_allowed(context.instance):
            return dg.SkipReason("discovery rate limit: 5 runs per 5 minutes")
        return dg.RunRequest(tags=DISCOVERY_TAGS)

    defs = dg.Definitions(assets=[probe], jobs=[job], sensors=[discovery_sensor])
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    assert isinstance(discovery_sensor(context), dg.RunRequest)
    for _ in range(5):
        dg.materialize([probe], instance=instance, tags=DISCOVERY_TAGS)
    assert isinstance(discovery_sensor(context), dg.SkipReason)
