"""The Dagster instance at DAGSTER_HOME, opened once per service process on first use
(importing Dagster takes seconds, so pages that never need it never pay for it)."""

from __future__ import annotations

import threading

from pipeline.lib.settings import dagster_home

_lock = threading.Lock()
_instance = None


def dagster_instance():
    """The instance, or None when DAGSTER_HOME is not set (nothing recorded to read)."""
    global _instance
    home = dagster_home()
    if not home:
        return None
    with _lock:
        if _instance is None or _instance.root_directory != home:
            import dagster as dg

            _instance = dg.DagsterInstance.get()
        return _instance
