import os

import dagster as dg

from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.lib.scoring.openai_scorer import DEFAULT_MODEL


def _env(name: str, default: str | None) -> dg.EnvVar | str | None:
    """dg.EnvVar when the variable is set (resolved at run time, never shown in the UI);
    otherwise the default, so the code location loads on a machine without keys."""
    return dg.EnvVar(name) if os.environ.get(name) else default


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "scoring_ai": ScoringAIResource(
                api_key=_env("OPENAI_API_KEY", ""),
                base_url=_env("OPENAI_BASE_URL", None),
                model=_env("PIPELINE_AI_MODEL", DEFAULT_MODEL),
            )
        }
    )
