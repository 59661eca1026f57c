"""Shared by the metrics tests: an idle server, restarts a test waits for, and parsing a scrape."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

from prometheus_client.parser import text_string_to_metric_families

from observer.runtime import Child, ChildSpec, Down, DynamicSupervisor, Pid, Process, Runtime, Server, Supervisor

GUARD = 5.0
"""Seconds a test waits for something that must happen; only a bug makes a wait this long."""

Labels = frozenset[tuple[str, str]]
Samples = Mapping[str, Mapping[Labels, float]]
"""A parsed scrape: sample name -> its labels -> value."""


class Idle(Server):
    """A server that does nothing: a child to restart."""


def parse(text: str | bytes) -> Samples:
    """Parse the text format with prometheus_client's own parser; every sample by name and labels."""
    decoded = text.decode() if isinstance(text, bytes) else text
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(decoded):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def labels(**pairs: str) -> Labels:
    """The labels of a sample, as `parse` keys them."""
    return frozenset(pairs.items())


def value(samples: Samples, name: str, **pairs: str) -> float:
    """One sample's value (KeyError if the scrape did not have it)."""
    return samples[name][labels(**pairs)]


async def child_pid(rt: Runtime, sup: Pid, child_id: Hashable) -> Pid:
    """The running pid of a supervisor's child."""
    children: Iterable[Child] = await Supervisor.which_children(rt, sup)
    for child in children:
        if child.id == child_id and isinstance(child.pid, Pid):
            return child.pid
    raise AssertionError(f"{child_id!r} is not running under {sup}")


async def kill_and_wait(me: Process, pid: Pid) -> None:
    """Kill `pid` (exit signal "kill", which a trapping supervisor cannot ignore) and wait for its Down."""
    ref = me.monitor(pid)
    me.runtime.exit(pid, "kill")
    await me.receive(lambda m: type(m) is Down and m.ref is ref, timeout=GUARD)


async def crash(me: Process, sup: Pid, child_id: Hashable, times: int) -> None:
    """Crash a static child `times` times, each time waiting until its supervisor has restarted it.

    The supervisor gets the child's exit before the `which_children` call that follows the Down
    (both are queued in its mailbox in that order), so when the call answers, the restart is done.
    """
    rt = me.runtime
    for _ in range(times):
        pid = await child_pid(rt, sup, child_id)
        await kill_and_wait(me, pid)
        assert await child_pid(rt, sup, child_id) is not pid


async def crash_dynamic(me: Process, sup: Pid, pid: Pid) -> Pid:
    """Crash one child of a DynamicSupervisor and wait for its restart; returns the pid it restarted as."""
    rt = me.runtime
    before = {child.pid for child in await DynamicSupervisor.which_children(rt, sup)}
    await kill_and_wait(me, pid)
    after = [child.pid for child in await DynamicSupervisor.which_children(rt, sup)]
    new = [child for child in after if isinstance(child, Pid) and child not in before]
    assert len(new) == 1, f"expected one restarted child, got {after}"
    return new[0]


def idle_spec(child_id: Hashable) -> ChildSpec:
    return Idle.child_spec(id=child_id)
