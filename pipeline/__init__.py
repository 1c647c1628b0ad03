"""Outside-world watcher: grants, client news and sales files, scored and delivered by Dagster."""
