"""Observers and authors: `Runtime.process_stats`, `restart_intensity_used`, and Server names a subclass cannot take."""

from __future__ import annotations

import pytest

from observer.runtime import Down, DynamicSupervisor, Runtime, RuntimeEvent, Server, Supervisor


class Sink(Server):
    async def handle_cast(self, request: object) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_process_stats_counts_kinds_and_mailbox_depths() -> None:
    async with Runtime() as rt:
        await Supervisor.start_link(rt, [Sink.child_spec(id="a", name="a"), Sink.child_spec(id="b", name="b")])
        await rt.suspend("a")  # its casts stay queued
        for _ in range(3):
            rt.cast("a", "x")
        rt.cast("b", "y")  # queued until b runs: b has not had a turn since
        stats = rt.process_stats()
        assert stats.processes == 3
        assert dict(stats.by_kind) == {"supervisor": 1, "server": 2}
        assert stats.mailbox_max == 3
        assert stats.mailbox_sum == 4


async def test_restart_intensity_used_counts_restarts_in_the_window_only() -> None:
    clock = FakeClock()
    async with Runtime(clock=clock) as rt, rt.attached() as me:
        sup = await Supervisor.start_link(rt, [Sink.child_spec(id="a", name="a")], max_restarts=4, max_seconds=5.0)
        server = rt.server_of(sup)
        assert isinstance(server, Supervisor)
        assert server.restart_intensity_used() == 0.0
        for _ in range(2):
            old = rt.whereis("a")
            assert old is not None
            ref = me.monitor(old)
            rt.exit(old, "kill")
            await me.receive(lambda m, ref=ref: isinstance(m, Down) and m.ref is ref)
            await Supervisor.count_children(rt, sup)  # answered after the restart
        assert server.restart_intensity_used() == 0.5
        clock.now += 6.0  # both restarts leave the window
        assert server.restart_intensity_used() == 0.0


async def test_a_dynamic_supervisor_reports_its_intensity_too() -> None:
    async with Runtime() as rt:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=0)
        server = rt.server_of(sup)
        assert isinstance(server, DynamicSupervisor)
        assert server.restart_intensity_used() == 0.0


def test_a_server_subclass_cannot_replace_the_servers_loop() -> None:
    with pytest.raises(TypeError, match="_serve"):

        class Clash(Server):
            async def _serve(self) -> None:  # a user's own "serve" helper, named like the loop
                pass


class Taken(Server):
    pass


async def test_a_failed_restart_is_an_observation_event_with_its_reason() -> None:
    async with Runtime() as rt, rt.attached() as me:
        events: list[RuntimeEvent] = []
        rt.subscribe(events.append)
        sup = await Supervisor.start_link(rt, [Taken.child_spec(id="w", name="w")], max_restarts=100)
        old = rt.whereis("w")
        assert old is not None
        ref = me.monitor(old)
        rt.exit(old, "kill")
        await me.receive(lambda m: isinstance(m, Down) and m.ref is ref)
        rt.register("w", me.pid)  # the restart's start_link now finds its name taken
        children = await Supervisor.which_children(rt, sup)
        assert children[0].pid == "restarting"
        await Supervisor.terminate_child(rt, sup, "w")  # ends the restart loop
        await Supervisor.count_children(rt, sup)  # and lets the queued events be delivered
        failed = [event for event in events if event.kind == "start_failed"]
        assert failed, [event.kind for event in events]
        assert failed[0].pid is sup and failed[0].other is sup and failed[0].name == "w"
        assert "w" in str(failed[0].reason)


async def test_a_dynamic_supervisors_children_reuse_unchanged_entries() -> None:
    async with Runtime() as rt, rt.attached() as me:
        sup = await DynamicSupervisor.start_link(rt, max_restarts=10)
        pids = [await DynamicSupervisor.start_child(rt, sup, Sink.child_spec(id=f"w{n}")) for n in range(3)]
        server = rt.server_of(sup)
        assert isinstance(server, DynamicSupervisor)
        before = server.children()
        assert server.children() == before and all(a is b for a, b in zip(server.children(), before, strict=True))
        victim = pids[1]
        assert victim is not None and not isinstance(victim, tuple)
        ref = me.monitor(victim)
        rt.exit(victim, "kill")
        await me.receive(lambda m: isinstance(m, Down) and m.ref is ref)
        await DynamicSupervisor.count_children(rt, sup)  # answered after the restart
        after = server.children()
        assert after[0] is before[0] and after[2] is before[2]
        assert after[1] is not before[1] and after[1][1] == 1 and after[1][0].pid is not victim
