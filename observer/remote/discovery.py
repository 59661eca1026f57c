"""Finding local endpoints: the socket directory, one socket per OS pid, and removing stale sockets.

The directory is ``$XDG_RUNTIME_DIR/observer`` when that variable is set, else ``/tmp/observer-<uid>``;
an endpoint's socket is ``<os-pid>.sock`` there (and its TCP token, if any, ``<os-pid>.token``). A
socket whose OS pid is dead is stale: `endpoints` removes it (and its token file).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from .errors import Unreachable
from .security import dir_problem

_SOCKET_NAME = re.compile(r"(\d{1,10})\.sock")


def socket_dir() -> Path:
    """The directory of this user's endpoint sockets."""
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.isabs(runtime_dir):
        return Path(runtime_dir) / "observer"
    return Path("/tmp") / f"observer-{os.getuid()}"


def socket_path(os_pid: int) -> Path:
    """Where the endpoint of OS process `os_pid` listens by default."""
    return socket_dir() / f"{os_pid}.sock"


def token_path(path: Path) -> Path:
    """Where the TCP token of the endpoint listening at `path` is written."""
    return path.with_suffix(".token")


def pid_alive(os_pid: int) -> bool:
    """Whether an OS process `os_pid` exists (of any user)."""
    try:
        os.kill(os_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    return True


def answers(path: Path) -> bool:
    """Whether something listens on the Unix socket at `path` (a refused connection means a stale socket)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
    except OSError:  # refused (nobody listens), gone, or not ours to reach
        return False
    finally:
        probe.close()
    return True


@dataclass(frozen=True, slots=True)
class Found:
    """A local endpoint's socket.

    Attributes:
        os_pid: The OS process that serves it (from the socket's name).
        path: The socket.
    """

    os_pid: int
    path: Path


def remove_stale(path: Path) -> None:
    """Remove a socket nobody serves any more, and its token file."""
    path.unlink(missing_ok=True)
    token_path(path).unlink(missing_ok=True)


def endpoints(directory: Path | None = None, *, prune: bool = True) -> list[Found]:
    """The live endpoints of this user on this machine, by OS pid; stale sockets are removed on the way.

    Args:
        directory: Where to look (the default socket directory when None).
        prune: Remove stale sockets: those of dead OS pids, and those nobody listens on (the pid was reused).

    Raises:
        Unreachable: The directory exists but is not this user's private directory.
    """
    where = socket_dir() if directory is None else directory
    if not where.exists():
        return []
    problem = dir_problem(where)
    if problem is not None:
        raise Unreachable(f"not listing endpoints: {problem}")
    found = []
    for entry in where.iterdir():
        match = _SOCKET_NAME.fullmatch(entry.name)
        if match is None:
            continue
        os_pid = int(match.group(1))
        if not pid_alive(os_pid) or not answers(entry):
            if prune:
                remove_stale(entry)
            continue
        found.append(Found(os_pid, entry))
    return sorted(found, key=lambda item: item.os_pid)
