"""Introspection edge cases: a broken format_status, an unread message, the cap marker, a process not started."""

from __future__ import annotations

import re

import pytest

from observer.runtime import Process, Runtime, Server
from observer.runtime.introspection import capped


class BrokenStatus(Server):
    def format_status(self) -> object:
        raise ValueError("cannot show myself")


async def test_get_state_with_a_raising_format_status_does_not_kill_the_server() -> None:
    async with Runtime() as rt:
        pid = await BrokenStatus.start_link(rt)
        with pytest.raises(Exception):  # noqa: B017 - any error for the caller; today CallExit(ValueError)
            await rt.get_state(pid)
        assert rt.is_alive(pid)  # fails today: Server._system lets format_status's exception crash the loop


async def pick(proc: Process, to: object) -> None:
    proc.runtime.send(to, "ready")
    await proc.receive(match=lambda m: m == "never")


async def test_a_process_in_a_selective_receive_awaits_receive_right_after_a_put() -> None:
    async with Runtime() as rt:
        async with rt.attached() as me:
            pid = rt.spawn(pick, me.pid)
            assert await me.receive(timeout=5) == "ready"  # `pick` is now parked in Mailbox.get
            assert rt.inspect(pid).awaiting == "receive"  # passes
        rt.send(pid, "other")  # put clears Mailbox._waiter before the owner rescans
        assert rt.inspect(pid).awaiting == "receive"  # today "Mailbox.get"


def test_the_cap_marker_counts_the_characters_left_out() -> None:
    text = "x" * 10_000
    cut = capped(text)
    kept = cut.index("…")
    said = int(re.search(r"\[([\d,]+) more characters\]", cut).group(1).replace(",", ""))
    assert said == len(text) - kept  # today 8,040 said, 8,025 left out


async def body(proc: Process) -> None:
    await proc.receive()


async def test_a_process_that_has_not_started_awaits_nothing() -> None:
    async with Runtime() as rt:
        pid = rt.spawn(body)
        assert rt.inspect(pid).awaiting is None  # the docstring says None; today "Runtime._run"

