"""How long `pipeline health` takes to gather facts for a code location of 60 assets with 4
checks each and 20 materialisations per asset, against a naive baseline that asks the instance
one check at a time. Run: python pipeline_tests/benchmarks/bench_health.py"""

from __future__ import annotations

import tempfile
import time

import dagster as dg

from pipeline.defs.health.state import asset_health

ASSETS, CHECKS, HISTORY = 60, 4, 20


def build_defs() -> dg.Definitions:
    assets = [dg.AssetSpec(f"asset_{i:02d}", group_name="bench") for i in range(ASSETS)]

    def checks_for(spec: dg.AssetSpec) -> dg.AssetChecksDefinition:
        @dg.multi_asset_check(
            specs=[dg.AssetCheckSpec(f"check_{j}", asset=spec.key) for j in range(CHECKS)],
            name=f"checks_{spec.key.to_python_identifier()}",
        )
        def _checks():
            yield from ()

        return _checks

    @dg.multi_asset(specs=assets)
    def bench_assets():
        yield from ()

    return dg.Definitions(assets=[bench_assets], asset_checks=[checks_for(spec) for spec in assets])


def record_history(instance: dg.DagsterInstance, defs: dg.Definitions) -> None:
    for spec in defs.resolve_asset_graph().materializable_asset_keys:
        for n in range(HISTORY):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(spec, metadata={"dagster/row_count": 100 + n})
            )
        for j in range(CHECKS):
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=spec, check_name=f"check_{j}", passed=j != 3, metadata={}
                )
            )


def naive(instance: dg.DagsterInstance, defs: dg.Definitions) -> int:
    graph = defs.resolve_asset_graph()
    found = 0
    for key in graph.asset_check_keys:
        found += instance.get_latest_asset_check_evaluation_record(key) is not None
    for key in graph.materializable_asset_keys:
        found += instance.get_latest_materialization_event(key) is not None
    return found


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    defs = build_defs()
    with tempfile.TemporaryDirectory() as home, dg.instance_for_test(temp_dir=home) as instance:
        start = time.perf_counter()
        record_history(instance, defs)
        print(
            f"recorded {ASSETS * (HISTORY + CHECKS)} events in {time.perf_counter() - start:.1f}s"
        )
        graph = defs.resolve_asset_graph()
        ours = timed(lambda: asset_health(graph, instance))
        baseline = timed(lambda: naive(instance, defs))
        statuses = {h.status for h in asset_health(graph, instance)}
        print(f"asset_health for {ASSETS} assets x {CHECKS} checks: {ours * 1000:.0f} ms")
        print(
            f"naive per-check queries (latest check + materialisation only): {baseline * 1000:.0f} ms"
        )
        print(
            f"ratio ours/naive: {ours / baseline:.2f} (ours also reads planned runs and run status)"
        )
        print(f"statuses seen: {sorted(statuses)}")


if __name__ == "__main__":
    main()
