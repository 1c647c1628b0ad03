"""The landing zone: `<root>/sales/<datasource>/<file>` on a local folder or an S3 prefix.

Rejected files move to `<root>/rejected/<datasource>/<file>` beside `<file>.errors.json`;
nothing is ever deleted from the zone. A local zone's files are read only where they are: a
symbolic link, or a path that resolves anywhere else, is never read (`LandedFile.linked`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.lib.copying import copy_chunks
from pipeline.lib.hashing import file_hash
from pipeline.lib.processes import is_alive, process_identity
from pipeline.lib.s3 import s3_client
from pipeline.lib.sales.formats import FileRejected, format_of
from pipeline.lib.settings import settings

SALES_DIR = "sales"
# The asset that records each landed file (one partition per file); the web pages read its runs.
UPLOADS_ASSET = "sales_uploads"
# Tags of the run that processes a file: the web pages find a file's runs by them.
DATASOURCE_TAG = "sales/datasource"
FILE_TAG = "sales/file"


def file_run_tags(datasource: str, file_name: str) -> dict[str, str]:
    return {DATASOURCE_TAG: datasource, FILE_TAG: file_name}


REJECTED_DIR = "rejected"
# Files being copied in by `pipeline ingest`, outside sales/ so the sensor never sees them.
INCOMING_DIR = ".incoming"
# The size limit is checked after each chunk of the copy.
_COPY_CHUNK = 1 << 26
PARTIAL_SUFFIX = ".partial"
# Names of .incoming copies: `<owner>__<random>.partial`, the owner a process identity with
# ':' spelled '+', so a copy whose process died is recognised as abandoned.
_OWNER_SEPARATOR = "__"


# A datasource names a folder, a spec file (data/config/sales/<name>.yaml) and a column value:
# the same rule for `pipeline ingest --datasource` and for folders found in the landing zone.
DATASOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DATASOURCE_RULE = "1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"


def datasource_problem(name: str) -> str | None:
    """Why `name` cannot be a datasource, or None when it can."""
    if DATASOURCE_NAME.fullmatch(name):  # fullmatch: `$` would let a trailing newline in
        return None
    return f"{name!r} is not a valid datasource name ({DATASOURCE_RULE})"


# C0 and C1 control characters and DEL: a newline in a name would split log lines and reports.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def name_problem(name: str) -> str | None:
    """Why a file name is refused, or None."""
    if CONTROL_CHARACTER.search(name):
        return f"the file name {name!r} holds a control character (newline, tab, ...); rename it"
    return None


LINK_REASON = (
    "is a symbolic link or resolves outside the landing zone, so it was not read; copy the"
    " file into the zone instead (pipeline ingest)"
)


def size_problem(size: int, limit: int) -> str | None:
    """Why a file of `size` bytes is refused under `limit`, or None."""
    if size <= limit:
        return None
    return (
        f"{_megabytes(size)} is over the {_megabytes(limit)} limit for sales files"
        " (PIPELINE_MAX_FILE_MB); split the file"
    )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.2f}".rstrip("0").rstrip(".") + " MB"


@dataclass(frozen=True)
class Received:
    """A file read once on its way in: its content hash and, for a local zone, a complete
    copy already inside the zone (`partial`), renamed into place when it is landed."""

    source: Path
    file_hash: str
    partial: Path | None = None

    def discard(self) -> None:
        if self.partial is not None:
            self.partial.unlink(missing_ok=True)


def copy_hashing(source: Path, target: Path, max_bytes: int | None = None) -> str:
    """Copy `source` to `target` (pipeline.lib.copying) and return the sha256 of the copy,
    which nothing else writes, read from the page cache: the hash is always of the bytes
    landed. Stops with FileRejected once more than `max_bytes` were copied (a file still
    growing)."""
    copied = 0
    with open(source, "rb") as src, open(target, "wb") as out:
        for size in copy_chunks(src, out, _COPY_CHUNK):
            copied += size
            if max_bytes is not None and (problem := size_problem(copied, max_bytes)):
                raise FileRejected(f"{source.name}: {problem}")
    return file_hash(target)


def receive(location: str, source: Path, max_bytes: int | None = None) -> Received:
    """Read `source` once for the zone at `location`: a local zone gets a copy under
    .incoming/ (same filesystem, so landing it is a rename) hashed while it is written; for S3
    the file is only hashed (the upload reads it again). A name with control characters or a
    file over `max_bytes` (default PIPELINE_MAX_FILE_MB) is refused with FileRejected before
    anything is copied."""
    max_bytes = settings().max_file_bytes if max_bytes is None else max_bytes
    if problem := name_problem(source.name):
        raise FileRejected(problem)
    if problem := size_problem(source.stat().st_size, max_bytes):
        raise FileRejected(f"{source.name}: {problem}")
    if location.startswith("s3://"):
        return Received(source, file_hash(source))
    incoming = Path(location) / INCOMING_DIR
    incoming.mkdir(parents=True, exist_ok=True)
    owner = process_identity().replace(":", "+")
    partial = incoming / f"{owner}{_OWNER_SEPARATOR}{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
    try:
        return Received(source, copy_hashing(source, partial, max_bytes), partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def abandoned_partials(root: Path, idle_seconds: float, now: float | None = None) -> list[Path]:
    """Half-copied files a killed copy left in a local zone: `.incoming/*.partial` whose
    process is gone, and any `.partial` (there or beside landed files) not written to for
    `idle_seconds` (a copy in progress writes every few milliseconds)."""
    now = time.time() if now is None else now
    candidates = [*root.glob(f"{INCOMING_DIR}/*{PARTIAL_SUFFIX}")]
    candidates += root.glob(f"{SALES_DIR}/*/.*{PARTIAL_SUFFIX}")
    abandoned = []
    for path in candidates:
        try:
            idle = now - path.stat().st_mtime
        except FileNotFoundError:  # landed or discarded meanwhile
            continue
        owner, separator, _ = path.name.partition(_OWNER_SEPARATOR)
        owner_gone = bool(separator) and is_alive(owner.replace("+", ":")) is False
        if owner_gone or idle > idle_seconds:
            abandoned.append(path)
    return abandoned


@dataclass(frozen=True)
class LandedFile:
    key: str  # relative to the zone: sales/<datasource>/<name>
    datasource: str
    name: str
    size: int
    version: str  # mtime (local) or ETag (S3): with size, tells the sensor a file changed
    # A symbolic link, or a path resolving outside its place in the zone: never read.
    linked: bool = False


def parse_key(key: str) -> tuple[str, str] | None:
    """(datasource, name) for a data file directly under sales/<datasource>/, else None."""
    parts = PurePosixPath(key).parts
    if len(parts) != 3 or parts[0] != SALES_DIR or format_of(parts[2]) is None:
        return None
    return parts[1], parts[2]


def upload_key(datasource: str, name: str) -> str:
    return f"{SALES_DIR}/{datasource}/{name}"


def rejected_key(key: str) -> str:
    datasource, name = PurePosixPath(key).parts[1:3]
    return f"{REJECTED_DIR}/{datasource}/{name}"


def with_hash_suffix(key: str, digest: str) -> str:
    """`orders.csv` -> `orders.<hash8>.csv`, keeping double suffixes like .csv.gz together."""
    path = PurePosixPath(key)
    name = path.name
    stem, dot, suffix = name.partition(".")
    return str(path.with_name(f"{stem}.{digest[:8]}{dot}{suffix}"))


class LocalLanding:
    def __init__(self, root: str | Path, max_file_bytes: int | None = None):
        self.root = Path(root)
        self.max_file_bytes = (
            settings().max_file_bytes if max_file_bytes is None else max_file_bytes
        )

    def location(self, key: str) -> str:
        return str(self.root / key)

    def _linked(self, key: str) -> bool:
        """Whether `key` is a link or reached through one (below the zone's root, which may
        itself be a link to where the zone is kept)."""
        path = self.root / key
        return path.is_symlink() or path.resolve() != self.root.resolve() / key

    def linked_folders(self) -> list[str]:
        """Keys of sales/<folder> entries that are links to folders: their files are not listed."""
        base = self.root / SALES_DIR
        if not base.is_dir() or self._linked(SALES_DIR):
            return []
        return [f"{SALES_DIR}/{p.name}" for p in _visible(base) if p.is_symlink()]

    def list_files(self) -> list[LandedFile]:
        """Data files directly under sales/<folder>/, by their own (not followed) status; a
        link is listed as `linked` with the link's own size, for the sensor to refuse."""
        base = self.root / SALES_DIR
        if not base.is_dir() or self._linked(SALES_DIR):
            return []
        found = []
        for folder in _visible(base):
            if folder.is_symlink() or not folder.is_dir():
                continue
            for path in _visible(folder):
                key = path.relative_to(self.root).as_posix()
                parsed = parse_key(key)
                if parsed and (path.is_symlink() or path.is_file()):
                    stat = path.lstat()
                    found.append(
                        LandedFile(
                            key, *parsed, stat.st_size, str(stat.st_mtime_ns), self._linked(key)
                        )
                    )
        return found

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def readable(self, key: str) -> Path:
        """The file at `key`, or FileRejected when it is a link, resolves elsewhere or is over
        the size limit: checked again just before any read, whatever listed it."""
        path = self.root / key
        if self._linked(key):
            raise FileRejected(f"the file {LINK_REASON}")
        if problem := size_problem(path.stat().st_size, self.max_file_bytes):
            raise FileRejected(problem)
        return path

    def hash_of(self, key: str) -> str:
        return file_hash(self.readable(key))

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        yield self.readable(key)

    def put_file(self, source: Path, key: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(source, partial)
        partial.replace(target)  # atomic: the sensor never sees half a file

    def put_received(self, received: Received, key: str) -> None:
        if received.partial is None:
            self.put_file(received.source, key)
            return
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        received.partial.replace(target)  # atomic: the sensor never sees half a file

    def write_text(self, key: str, text: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def move(self, key: str, new_key: str) -> None:
        target = self.root / new_key
        target.parent.mkdir(parents=True, exist_ok=True)
        (self.root / key).replace(target)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


def _visible(folder: Path) -> list[Path]:
    """Entries not starting with '.' (copies in progress are hidden), sorted."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


class S3Landing:
    """The same zone on `s3://bucket/prefix`, through a boto3 client (pipeline.lib.s3)."""

    def __init__(self, client, url: str, max_file_bytes: int | None = None):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.max_file_bytes = (
            settings().max_file_bytes if max_file_bytes is None else max_file_bytes
        )

    def _object(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"

    def list_files(self) -> list[LandedFile]:
        base = self._object(SALES_DIR) + "/"
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        ):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) + 1 :] if self.prefix else item["Key"]
                parsed = parse_key(key)
                if parsed:
                    found.append(LandedFile(key, *parsed, item["Size"], item["ETag"].strip('"')))
        return found

    def exists(self, key: str) -> bool:
        response = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._object(key), MaxKeys=1
        )
        return any(o["Key"] == self._object(key) for o in response.get("Contents", []))

    def hash_of(self, key: str) -> str:
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest()

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """Download to a temporary file (streamed by boto3), removed afterwards; an object over
        the size limit is refused with FileRejected before it is downloaded."""
        head = self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        if problem := size_problem(head["ContentLength"], self.max_file_bytes):
            raise FileRejected(problem)
        with tempfile.TemporaryDirectory(prefix="sales-s3-") as tmp:
            target = Path(tmp) / PurePosixPath(key).name
            self.client.download_file(self.bucket, self._object(key), str(target))
            yield target

    def put_file(self, source: Path, key: str) -> None:
        self.client.upload_file(str(source), self.bucket, self._object(key))

    def put_received(self, received: Received, key: str) -> None:
        self.put_file(received.source, key)
        received.discard()

    def write_text(self, key: str, text: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=text.encode())

    def move(self, key: str, new_key: str) -> None:
        self.client.copy(
            {"Bucket": self.bucket, "Key": self._object(key)}, self.bucket, self._object(new_key)
        )
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))


def open_landing(location: str = "") -> LocalLanding | S3Landing:
    """The zone at `location`, default PIPELINE_LANDING: a folder, or s3://bucket/prefix."""
    location = location or settings().landing
    if location.startswith("s3://"):
        return S3Landing(s3_client(), location)
    return LocalLanding(location)
