"""Copying a file fast: the kernel copies (copy_file_range: no bytes pass through Python, five to
ten times faster here than a read/write loop) where it can, a buffer where it cannot (across
some filesystems, or off Linux)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import BinaryIO

# copy_file_range cannot copy between these two files: copy through a buffer instead.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


def copy_chunks(src: BinaryIO, out: BinaryIO, chunk: int) -> Iterator[int]:
    """Copy `src` to `out` from their current positions, up to `chunk` bytes at a time, yielding
    each chunk's size: the caller may stop between chunks (a size limit)."""
    while size := _copy_chunk(src, out, chunk):
        yield size


def _copy_chunk(src: BinaryIO, out: BinaryIO, chunk: int) -> int:
    try:
        return os.copy_file_range(src.fileno(), out.fileno(), chunk)
    except (AttributeError, OSError) as error:
        if isinstance(error, OSError) and error.errno not in _NO_KERNEL_COPY:
            raise
    data = src.read(chunk)
    out.write(data)
    return len(data)
