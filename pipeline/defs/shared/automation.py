"""Automation conditions shared across domains."""

import dagster as dg

# Eager, but not held back by an upstream that was never materialised: a daily partition
# missing on a young deployment, a sales file registered but not processed yet (or rejected),
# or an asset that has not run yet must not freeze everything downstream of it.
AFTER_ANY_UPDATE = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()
)
