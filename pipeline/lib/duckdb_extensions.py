"""DuckDB extensions from installed PyPI packages, never from the network.

Each `duckdb-extension-<name>` package carries the binary for one DuckDB version. DuckDB only
loads extensions from `<extension_directory>/v<version>/<platform>/<name>.duckdb_extension`, so
the packaged files are linked into such a folder; auto-install stays off, so a missing
extension is a clear error here instead of an attempted download.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import duckdb

from pipeline.lib.settings.storage import duckdb_extensions_base

# extension name DuckDB loads -> (PyPI package, file inside that package). The postgres and
# sqlite binaries must be renamed: their entry points are postgres_scanner_init / sqlite_scanner_init.
PACKAGED = {
    "ducklake": ("duckdb-extension-ducklake", "ducklake"),
    "postgres_scanner": ("duckdb-extension-postgres", "postgres"),
    "sqlite_scanner": ("duckdb-extension-sqlite", "sqlite"),
    "httpfs": ("duckdb-extension-httpfs", "httpfs"),
}


class ExtensionMissingError(RuntimeError):
    """An extension the configured warehouse needs is not installed for this DuckDB."""


_lock = threading.Lock()
_directory: Path | None = None


def _platform() -> str:
    return duckdb.execute("PRAGMA platform").fetchall()[0][0]


def _packaged_file(name: str) -> Path:
    package, file_stem = PACKAGED[name]
    version = duckdb.__version__
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissingError(
            f"DuckDB extension {name!r} is not installed: `pip install {package}=={version}` "
            f"(it ships the extension for DuckDB {version}; the warehouse never downloads extensions)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    wanted = root / f"v{version}" / f"{file_stem}.duckdb_extension"
    if not wanted.exists():
        shipped = sorted(p.name for p in root.glob("v*")) if root.exists() else []
        raise ExtensionMissingError(
            f"{package} ships DuckDB extension {name!r} for {', '.join(shipped) or 'no version'}, "
            f"but DuckDB here is v{version}: `pip install {package}=={version}`"
        )
    return wanted


def extension_directory() -> Path:
    """The folder DuckDB loads extensions from, with every installed packaged extension linked
    in. Built once per process; missing packages are reported when an extension is loaded."""
    global _directory
    with _lock:
        if _directory is not None:
            return _directory
        base = duckdb_extensions_base()
        folder = base / f"v{duckdb.__version__}" / _platform()
        folder.mkdir(parents=True, exist_ok=True)
        for name in PACKAGED:
            try:
                source = _packaged_file(name)
            except ExtensionMissingError:
                continue
            link = folder / f"{name}.duckdb_extension"
            if link.is_symlink() and link.resolve() == source.resolve():
                continue
            temporary = link.with_name(f"{link.name}.{os.getpid()}.tmp")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(source)
            os.replace(temporary, link)  # atomic: another process may be loading it right now
        _directory = base
        return base


def connection_config() -> dict:
    """DuckDB config that loads extensions only from the packaged files."""
    return {
        "extension_directory": str(extension_directory()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }


def load(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD one packaged extension, or fail naming the package to install."""
    _packaged_file(name)  # a clear message instead of DuckDB's "extension not found, install it"
    conn.execute(f"LOAD {name}")
