"""Which process owns something, and whether it is still alive: how work left behind by a
process that was killed (kill -9, OOM, a lost machine) is told from work still in progress.

An identity is `host:pid:start`, where `start` is the process's start time in clock ticks
since boot (Linux /proc); with it a pid reused by a later process does not look alive."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line: starttime


def process_identity(pid: int | None = None) -> str:
    """`host:pid:start` of this process (or of `pid` on this host)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"


def is_alive(identity: str) -> bool | None:
    """True while the process is running, False once it is gone, None when it cannot be told
    (another host, or an identity in another format)."""
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if Path("/proc").is_dir():
        current = _start_ticks(pid)
        return current is not None and (not start or current == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
