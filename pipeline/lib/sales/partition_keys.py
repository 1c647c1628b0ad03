"""Partition keys of sales files: the landed file's name and the start of its content hash
(`orders_2026q1.csv-3f9a2c1d4e5f`), so a person recognises the file in the UI while two
different files with the same name stay apart. The name is the one the content was first
registered under in sales.files, so the same bytes landing again (renamed or not) name the
same partition.

Instances from before these keys have partitions keyed by the full content hash: such a key
still names its file (`names_file`), and runs under either key count for the same file."""

from __future__ import annotations

import re

# 12 hex digits (48 bits): two different files with the same name collide once in 2^48
# (3·10^14) pairs. Scratch directories (`<hash12>-*`) carry the same prefix.
HASH_CHARS = 12
# Dagster refuses '...' and control characters in partition keys, and '|', ',', '[' and ']'
# break its multi-partition and range syntax: anything but letters, digits, '.', '_' and '-'
# becomes '_', and runs of dots become one.
_UNSAFE = re.compile(r"[^\w.-]+")
_DOTS = re.compile(r"\.{2,}")
MAX_NAME_CHARS = 100


def partition_key(file_name: str, file_hash: str) -> str:
    """The sales_files partition key of the content `file_hash` first landed as `file_name`."""
    name = _DOTS.sub(".", _UNSAFE.sub("_", file_name))[:MAX_NAME_CHARS]
    return f"{name}-{file_hash[:HASH_CHARS]}"


def hash_prefix(key: str) -> str:
    """The first HASH_CHARS digits of the content hash a key names (either form of key)."""
    return key.rsplit("-", 1)[-1][:HASH_CHARS]


def names_file(key: str, file_name: str, file_hash: str) -> bool:
    """True when `key` is this file's partition key, or its full hash (the older form)."""
    return key in (file_hash, partition_key(file_name, file_hash))
