"""Landing's copy: done by the kernel where it can, through a buffer where it cannot, the
same bytes and hash either way, and bounded by the size limit."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from pipeline.lib import copying
from pipeline.lib.sales import landing
from pipeline.lib.sales.formats import FileRejected

CHUNK = 1 << 16


@pytest.fixture
def source(tmp_path, monkeypatch):
    monkeypatch.setattr(landing, "_COPY_CHUNK", CHUNK)  # several chunks from a small file
    path = tmp_path / "orders.csv"
    path.write_bytes(os.urandom(5 * CHUNK + 123))
    return path


def _refuse(code: int):
    def copy_file_range(*_args):
        raise OSError(code, os.strerror(code))

    return copy_file_range


def test_the_copy_holds_the_same_bytes_and_its_hash_is_theirs(source, tmp_path):
    target = tmp_path / "copy.partial"
    digest = landing.copy_hashing(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()


@pytest.mark.parametrize("code", [errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP])
def test_where_the_kernel_cannot_copy_the_buffer_gives_the_same_copy(
    source, tmp_path, monkeypatch, code
):
    monkeypatch.setattr(os, "copy_file_range", _refuse(code))
    target = tmp_path / "copy.partial"
    digest = landing.copy_hashing(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_real_write_error_is_not_hidden_by_the_fallback(source, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "copy_file_range", _refuse(errno.ENOSPC))
    with pytest.raises(OSError) as raised:
        landing.copy_hashing(source, tmp_path / "copy.partial")
    assert raised.value.errno == errno.ENOSPC


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "buffer"])
def test_the_copy_stops_once_it_passes_the_limit(source, tmp_path, monkeypatch, kernel):
    if not kernel:
        monkeypatch.setattr(os, "copy_file_range", _refuse(errno.EXDEV))
    copied = []
    real_chunk = copying._copy_chunk

    def counting(src, out, chunk):
        copied.append(real_chunk(src, out, chunk))
        return copied[-1]

    monkeypatch.setattr(copying, "_copy_chunk", counting)
    with pytest.raises(FileRejected, match=r"orders\.csv"):
        landing.copy_hashing(source, tmp_path / "copy.partial", max_bytes=2 * CHUNK)
    assert sum(copied) == 3 * CHUNK  # stopped at the first chunk past the limit
