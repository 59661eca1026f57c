"""Who may attach: a private socket directory, the peer's uid (SO_PEERCRED), and the TCP token."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
import stat
import struct
from pathlib import Path

from .errors import EndpointError

DIR_MODE = 0o700
SOCKET_MODE = 0o600
TOKEN_MODE = 0o600
TOKEN_BYTES = 32
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def dir_problem(path: Path) -> str | None:
    """Why `path` is no safe socket directory (not a real directory, another uid's, or open to others), or None."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return f"{path} does not exist"
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a directory"
    if info.st_uid != os.getuid():
        return f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})"
    if info.st_mode & 0o077:
        return f"{path} has mode {stat.S_IMODE(info.st_mode):04o}; it must be 0700"
    return None


def ensure_private_dir(path: Path) -> None:
    """Make `path` a directory of this user with mode 0700, or refuse one that is not.

    Raises:
        EndpointError: It exists and belongs to another uid, is open to others, or is not a directory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        pass  # checked below, like one we made
    problem = dir_problem(path)
    if problem is not None:
        raise EndpointError(f"refusing the socket directory: {problem}")


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED), or None where unsupported."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock.family != socket.AF_UNIX:
        return None
    _, uid, _ = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


def refusal(peer: int | None, own: int) -> str | None:
    """Why a peer of uid `peer` may not talk to an endpoint of uid `own`, or None when it may.

    Args:
        peer: The peer's uid, None when the platform cannot tell (the 0700 directory is the guard).
        own: This process's uid.
    """
    if peer is None or peer == own:
        return None
    return f"peer uid {peer} refused: this endpoint serves uid {own} only"


def new_token() -> str:
    """A fresh random token for a TCP endpoint: hex, so it never starts with "-" and passes as ``--token TOKEN``."""
    return secrets.token_hex(TOKEN_BYTES)


def write_token(path: Path, token: str) -> None:
    """Write `token` to a new file of mode 0600 (an older file at `path` is replaced)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), TOKEN_MODE)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")


def read_token(path: Path) -> str:
    """The token in a token file (surrounding whitespace removed).

    Raises:
        OSError: It cannot be read.
    """
    return path.read_text().strip()


def tokens_match(given: object, expected: str) -> bool:
    """Whether `given` is the token, compared in constant time."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def is_loopback(host: str) -> bool:
    """Whether `host` only reaches this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False
