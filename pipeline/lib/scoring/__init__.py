"""Scoring: how well a grant fits an organisation, how relevant an article is to a client.

One interface (`Scorer`), two implementations: `LocalScorer` (BM25 + rules, no keys) and
`OpenAIScorer` (structured output through any OpenAI-compatible API). No dagster imports here.
"""
