"""Failures that running again cannot fix (an unknown client id in a schedule's config, a bad
setting): the run says so, and neither Dagster's run-retry daemon nor an op retry policy
repeats it. Transient errors (a provider timing out, a locked warehouse) stay retryable."""

import dagster as dg

# Read by Dagster's run-retry daemon when the run fails (dagster.yaml `run_retries`).
NO_RETRY_TAGS = {"dagster/retry_on_asset_or_op_failure": "false"}


def deterministic_failure(context: dg.AssetExecutionContext, message: str) -> dg.Failure:
    """A Failure for `message` that is not retried: the run is tagged before it fails, since
    the daemon decides from the run's tags at the moment of failure."""
    context.instance.add_run_tags(context.run_id, NO_RETRY_TAGS)
    return dg.Failure(description=message, allow_retries=False)
