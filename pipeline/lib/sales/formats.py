"""What a landed file is, and a UTF-8 path DuckDB can stream for CSVs of any encoding."""

from __future__ import annotations

import codecs
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("csv", "csv.gz", "xlsx", "xls", "parquet")
_MAGIC = {
    "csv.gz": (b"\x1f\x8b",),
    "xlsx": (b"PK\x03\x04",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "parquet": (b"PAR1",),
}
_CHUNK = 1 << 20
TRANSCODED_NAME = "transcoded.csv"  # in the work dir, when a CSV is not UTF-8


class FileRejected(ValueError):
    """The whole file cannot be read; the message is the one-line reason shown to the
    uploader, `detail` the full text behind it (for the file's errors.json), if any."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail


# DuckDB's error text: a class prefix, then lines that quote the offending line, suggest
# options, list the dialect and point at the SQL; none of it helps the uploader.
_DUCKDB_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")
_DUCKDB_NOISE = ("Original Line:", "Possible Solution", "Possible fixes", "LINE ", "* ")
SUMMARY_CHARS = 200


def unreadable(fmt: str, error: Exception, name: str, paths: tuple[Path, ...]) -> FileRejected:
    """FileRejected for a file DuckDB could not parse: one line for a person ("cannot be read
    as csv: CSV Error on Line: 1: Maximum line size ... exceeded"), the full text as detail.
    `paths` (the landed file, a transcoded copy) are shown as the file's `name`."""
    text = str(error)
    for path in paths:  # the uploader knows the file by name; scratch paths mean nothing
        text = text.replace(str(path), name)
    kept = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            if kept:
                break  # the dialect block and the SQL pointer follow the first blank line
            continue
        if not line.startswith(_DUCKDB_NOISE):
            kept.append(_DUCKDB_PREFIX.sub("", line) if not kept else line)
    summary = ": ".join(kept) or type(error).__name__
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 3] + "..."
    return FileRejected(f"cannot be read as {fmt}: {summary}", detail=text)


def format_of(name: str) -> str | None:
    """The format a file name claims, or None for names the landing zone ignores."""
    lower = name.lower()
    if lower.endswith((".csv.gz", ".tsv.gz", ".txt.gz")):
        return "csv.gz"
    for suffix, fmt in ((".csv", "csv"), (".tsv", "csv"), (".txt", "csv"), (".xlsx", "xlsx"),
                        (".xls", "xls"), (".parquet", "parquet")):  # fmt: skip
        if lower.endswith(suffix):
            return fmt
    return None


def detect_format(path: Path, name: str | None = None) -> str:
    """The file's format from its name, confirmed by its first bytes."""
    name = name or path.name
    fmt = format_of(name)
    if fmt is None:
        raise FileRejected(f"unsupported file type (expected one of {', '.join(FORMATS)})")
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("the file is empty")
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if fmt in _MAGIC and not head.startswith(_MAGIC[fmt]):
        raise FileRejected(f"not a valid {fmt} file (its first bytes do not match)")
    if fmt == "csv":
        _check_text(head)
    return fmt


def _check_text(head: bytes) -> None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    if b"\x00" in head:
        raise FileRejected("binary content, not a text CSV (NUL bytes in the first 8 KB)")
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRejected("the file is empty (only whitespace)")


@dataclass(frozen=True)
class PreparedCsv:
    path: Path  # what DuckDB reads: the original, or a UTF-8 transcoded copy
    encoding: str  # utf-8 | utf-16 | windows-1252 | mixed (utf-8 + windows-1252)
    transcoded_lines: int = 0


def _open_bytes(path: Path, fmt: str):
    return gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")


def prepare_csv(path: Path, fmt: str, work_dir: Path) -> PreparedCsv:
    """Check the encoding in one streaming pass. Valid UTF-8 (the common case) is read in
    place, gzip included; anything else is transcoded line by line into `work_dir`, each line
    as UTF-8 when it decodes, else as Windows-1252, so a file mixing both loses no row."""
    try:
        with _open_bytes(path, fmt) as handle:
            head = handle.read(4)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return _transcode_utf16(path, fmt, work_dir)
            if fmt == "csv.gz":
                _check_text(head + handle.read(8188))
                handle.seek(0)
                head = handle.read(4)
            decoder = codecs.getincrementaldecoder("utf-8")()
            decoder.decode(head)
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return PreparedCsv(path, "utf-8")
    except UnicodeDecodeError:
        return _transcode_lines(path, fmt, work_dir)
    except (OSError, EOFError) as error:
        raise FileRejected(f"cannot be decompressed or read: {error}") from error


def _transcode_lines(path: Path, fmt: str, work_dir: Path) -> PreparedCsv:
    target = work_dir / TRANSCODED_NAME
    legacy = utf8 = 0
    with _open_bytes(path, fmt) as source, open(target, "wb") as sink:
        for raw in source:
            try:
                text = raw.decode("utf-8")
                utf8 += 1
            except UnicodeDecodeError:
                # cp1252 leaves five bytes undefined; latin-1 maps every byte.
                try:
                    text = raw.decode("cp1252")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
                legacy += 1
            sink.write(text.encode("utf-8"))
    encoding = "windows-1252" if utf8 <= 1 else "mixed (utf-8 + windows-1252)"
    return PreparedCsv(target, encoding, legacy)


def _transcode_utf16(path: Path, fmt: str, work_dir: Path) -> PreparedCsv:
    target = work_dir / TRANSCODED_NAME
    with _open_bytes(path, fmt) as raw:
        reader = codecs.getreader("utf-16")(raw)
        with open(target, "w", encoding="utf-8", newline="") as sink:
            while chunk := reader.read(_CHUNK):
                sink.write(chunk)
    return PreparedCsv(target, "utf-16")
