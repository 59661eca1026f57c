"""Who may attach: the private directory, the peer uid check, tokens and loopback."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from observer.remote.errors import EndpointError
from observer.remote.security import (
    dir_problem,
    ensure_private_dir,
    is_loopback,
    new_token,
    peer_uid,
    read_token,
    refusal,
    tokens_match,
    write_token,
)


def test_the_socket_directory_is_made_0700(xdg: Path) -> None:
    directory = xdg / "observer"
    ensure_private_dir(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    ensure_private_dir(directory)  # again: it is fine as it is
    assert dir_problem(directory) is None


def test_a_directory_open_to_others_or_not_ours_is_refused(xdg: Path) -> None:
    directory = xdg / "observer"
    directory.mkdir(mode=0o700)
    directory.chmod(0o750)
    with pytest.raises(EndpointError, match="mode 0750; it must be 0700"):
        ensure_private_dir(directory)
    link = xdg / "link"
    link.symlink_to(directory)
    assert dir_problem(link) == f"{link} is not a directory"
    if os.getuid() == 0:
        directory.chmod(0o700)
        os.chown(directory, 65534, 65534)
        assert dir_problem(directory) == f"{directory} belongs to uid 65534, not to this user (uid 0)"


def test_a_peer_of_another_uid_is_refused() -> None:
    assert refusal(1000, 1000) is None
    assert refusal(None, 1000) is None  # the platform cannot tell: the 0700 directory is the guard
    assert refusal(65534, 0) == "peer uid 65534 refused: this endpoint serves uid 0 only"


def test_peer_uid_reads_the_other_end_of_a_unix_socket() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_uid(left) == os.getuid()


def test_tokens_are_random_compared_in_constant_time_and_written_0600(tmp_path: Path) -> None:
    token = new_token()
    assert len(token) >= 40 and token != new_token()
    assert tokens_match(token, token) and not tokens_match(token[:-1], token)
    assert not tokens_match(None, token) and not tokens_match(42, token)
    path = tmp_path / "1.token"
    path.write_text("old")
    write_token(path, token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and read_token(path) == token


def test_a_fresh_token_passes_as_a_command_line_value() -> None:
    """A token that began with "-" (one urlsafe token in 64 did) would be taken by argparse for an option."""
    tokens = [new_token() for _ in range(2000)]
    assert not [token for token in tokens if not token.isalnum()]


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False), ("::", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
