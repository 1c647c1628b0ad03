"""Variables a resource reads at run time through dg.EnvVar (never shown in the UI)."""

import dagster as dg

from pipeline.lib.settings import is_set


def env_var_or(name: str, default: str | None) -> dg.EnvVar | str | None:
    """dg.EnvVar(name) when the variable is set, else `default`: an unset EnvVar fails the run,
    while an unset key must select the bundled sample (or the local scorer)."""
    return dg.EnvVar(name) if is_set(name) else default
