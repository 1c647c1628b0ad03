import dagster as dg

from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.shared.env import env_var_or
from pipeline.lib.scoring.openai_scorer import DEFAULT_MODEL


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "scoring_ai": ScoringAIResource(
                api_key=env_var_or("OPENAI_API_KEY", ""),
                base_url=env_var_or("OPENAI_BASE_URL", None),
                model=env_var_or("PIPELINE_AI_MODEL", DEFAULT_MODEL),
            )
        }
    )
