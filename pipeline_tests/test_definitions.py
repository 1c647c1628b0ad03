import os
import subprocess
import sys

from pipeline.lib.settings import REPO_ROOT


def test_definitions_load():
    from pipeline.definitions import defs

    loaded = defs()
    assert "warehouse" in loaded.resources
    assert loaded.resolve_sensor_def("automation_sensor")


def test_dagster_definitions_validate(pipeline_env):
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
