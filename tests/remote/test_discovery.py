"""Finding local endpoints: the socket directory, listing, and removing stale sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from observer.remote import Unreachable, serve
from observer.remote.discovery import Found, endpoints, socket_dir, socket_path, token_path
from observer.runtime import Runtime


def test_the_socket_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert socket_dir() == Path("/run/user/1000/observer")
    assert socket_path(42) == Path("/run/user/1000/observer/42.sock")
    assert token_path(socket_path(42)) == Path("/run/user/1000/observer/42.token")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert socket_dir() == Path(f"/tmp/observer-{os.getuid()}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/dir")  # not a usable runtime dir
    assert socket_dir() == Path(f"/tmp/observer-{os.getuid()}")


async def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await process.wait()
    return process.pid


def leave_socket(path: Path) -> None:
    """A socket file nobody listens on, as a killed service leaves it."""
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


async def test_endpoints_lists_live_ones_and_removes_stale_ones(xdg: Path) -> None:
    assert endpoints() == []  # no directory yet
    async with Runtime() as rt, serve(rt) as endpoint:
        directory = endpoint.path.parent
        dead = await dead_pid()
        stale = directory / f"{dead}.sock"
        leave_socket(stale)
        token_path(stale).write_text("secret")
        reused = directory / "1.sock"  # pid 1 lives, but nobody listens there: its pid was reused
        leave_socket(reused)
        (directory / "notes.txt").write_text("not a socket of ours")
        assert endpoints(prune=False) == [Found(os.getpid(), endpoint.path)]
        assert stale.exists() and reused.exists()
        assert endpoints() == [Found(os.getpid(), endpoint.path)]
        assert not stale.exists() and not token_path(stale).exists() and not reused.exists()
        assert (directory / "notes.txt").exists()


def test_an_unsafe_directory_is_not_listed(xdg: Path) -> None:
    directory = xdg / "observer"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    with pytest.raises(Unreachable, match=r"not listing endpoints: .* it must be 0700"):
        endpoints()
