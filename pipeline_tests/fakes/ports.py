"""A loopback port for a server that another process binds (`dagster dev -p`, `pipeline serve
--port`), where the test cannot hand over a socket it bound itself."""

from __future__ import annotations

import contextlib
import socket


def reserved_port() -> int:
    """A free port left in TIME_WAIT: for about a minute the kernel hands it to nobody asking
    for port 0 (a parallel test's server), while a server that binds with SO_REUSEADDR, as
    uvicorn does, may take it. A plain probe-and-close port could go to anyone meanwhile."""
    with contextlib.closing(socket.socket()) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = listener.getsockname()
        with contextlib.closing(socket.create_connection(address)):
            accepted, _ = listener.accept()
            accepted.close()  # the accepting side closes first, so its end waits in TIME_WAIT
        return address[1]
