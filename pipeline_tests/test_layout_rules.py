"""The house rules the code location's loader does not enforce by itself."""

import ast
import importlib
import pkgutil
import subprocess
import sys
from collections import defaultdict

import dagster as dg

import pipeline.defs
from pipeline.lib.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "pipeline"
# What `load_from_defs_folder` collects from a module's attributes.
COLLECTED = (
    dg.AssetsDefinition,
    dg.AssetChecksDefinition,
    dg.AssetSpec,
    dg.SensorDefinition,
    dg.ScheduleDefinition,
    dg.JobDefinition,
    type(dg.define_asset_job("any")),  # what define_asset_job returns
)
# What @dg.definitions returns (its class is not exported).
LAZY_DEFINITIONS = type(dg.definitions(lambda: dg.Definitions()))
# Which top-level packages of `pipeline` each layer may import (a lower layer never imports a
# higher one).
ALLOWED = {
    "lib": {"lib"},
    "defs": {"lib", "defs"},
    # The recipients' and team's pages never load the code location: they read the event store,
    # exports and the instance, never the warehouse or the definitions.
    "web": {"lib", "web"},
}
# The modules that may touch os.environ, and why; every other module asks the settings package
# (a function may take an `environ` mapping for tests and pass it on to settings).
ENVIRONMENT_READERS = {
    "pipeline/lib/settings": "the settings package: where every variable is named and read",
    "pipeline/lib/logs.py": "secret_values scans every variable whose name says it holds a "
    "secret, to redact those values from log lines; it reads no configuration",
}
ENVIRONMENT_FUNCTIONS = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _definitions_by_module() -> tuple[dict[str, list], dict[str, list]]:
    """The collectable definitions of each defs module, split into the modules the loader
    collects from and those it takes only the Definitions of (a Definitions or @dg.definitions
    hides every other definition in its module)."""
    collected, hiding = {}, {}
    for info in pkgutil.walk_packages(pipeline.defs.__path__, "pipeline.defs."):
        values = vars(importlib.import_module(info.name)).values()
        found = [v for v in values if isinstance(v, COLLECTED)]
        has_definitions = any(isinstance(v, dg.Definitions | LAZY_DEFINITIONS) for v in values)
        (hiding if has_definitions else collected)[info.name] = found
    return collected, hiding


def test_a_module_with_definitions_hides_no_definition():
    # Such modules (the resources.py files, news/schedules.py) hold the Definitions and at most
    # definitions imported from a module the loader collects.
    collected, hiding = _definitions_by_module()
    loaded = {id(v) for values in collected.values() for v in values}
    hidden = {name: [v for v in values if id(v) not in loaded] for name, values in hiding.items()}
    assert not {name: values for name, values in hidden.items() if values}


def test_every_definition_lives_in_one_defs_module():
    # A definition imported into a second collected module is loaded twice ("duplicate asset
    # key"): other modules refer to assets by key (pipeline.defs.shared.asset_keys).
    collected, _ = _definitions_by_module()
    modules_of = defaultdict(set)
    for name, values in collected.items():
        for value in values:
            modules_of[id(value)].add(name)
    assert not [sorted(names) for names in modules_of.values() if len(names) > 1]


def _imported_layers(path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "dagster" or parts[0].startswith("dagster_"):
                layers.add("dagster")
            elif parts[0] == "pipeline" and len(parts) > 1:
                layers.add(parts[1])
    return layers


def test_lower_layers_never_import_higher_ones():
    # pipeline/lib is plain logic with no Dagster; pipeline/defs never reaches the CLI or web;
    # pipeline/web reaches only lib.
    crossing = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            layers = _imported_layers(path)
            if layer == "lib" and "dagster" in layers:
                crossing.append(f"{path.relative_to(REPO_ROOT)} imports dagster")
            pipeline_layers = layers - {"dagster"}
            if extra := pipeline_layers - allowed:
                crossing.append(f"{path.relative_to(REPO_ROOT)} imports pipeline.{sorted(extra)}")
    assert not crossing


def _environment_reads(path) -> list[int]:
    """Lines of `path` that use os.environ, os.getenv and the like."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_FUNCTIONS
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {alias.name for alias in node.names} & ENVIRONMENT_FUNCTIONS
        ):
            lines.append(node.lineno)
    return lines


def _is_environment_reader(relative: str) -> bool:
    return any(relative == p or relative.startswith(p + "/") for p in ENVIRONMENT_READERS)


def test_only_the_settings_package_reads_the_environment():
    reads = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if not _is_environment_reader(relative):
            reads += [f"{relative}:{line}" for line in _environment_reads(path)]
    assert not reads


def test_every_listed_environment_reader_still_reads_it():
    # An exception that no longer reads the environment is removed from the list.
    stale = []
    for allowed in ENVIRONMENT_READERS:
        target = REPO_ROOT / allowed
        paths = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        if not any(p.exists() and _environment_reads(p) for p in paths):
            stale.append(allowed)
    assert not stale


IMPORT_THEN_LOAD = """
import logging
factory = logging.getLogRecordFactory()
from pipeline.definitions import defs
assert logging.getLogRecordFactory() is factory, "importing replaced the log record factory"
loaded = defs()
assert logging.getLogRecordFactory() is not factory, "loading left log records unredacted"
import dagster as dg
with dg.build_resources({"asset_graph": loaded.resources["asset_graph"]}) as resources:
    keys = resources.asset_graph.materializable_asset_keys
assert dg.AssetKey("grant_matches") in keys, "health_report has no location graph to judge"
"""


def test_importing_the_location_changes_nothing_loading_it_sets_up(pipeline_env):
    # Work happens in the explicit load (defs()), not as a side effect of an import; the load
    # binds the graph health_report judges (it was None unless graph_runner filled it).
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_THEN_LOAD],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
