"""The built-in drills: each injects one fault into the default system and checks what OTP promises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from observer.runtime import (
    NO_REPLY,
    Caller,
    CallExit,
    CallTimeout,
    Exit,
    Pid,
    Process,
    Registry,
    Server,
    Supervisor,
)
from observer.runtime.rate_limiter import RateLimiter
from observer.runtime.signal_router import SignalRouter
from observer.runtime.spec import Restart
from observer.system import Agent, AgentRegistry

from . import probes
from .context import DrillContext

DrillBody = Callable[[DrillContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Drill:
    """A named scenario: `run(ctx)` injects faults and records expectations in `ctx.report`."""

    name: str
    description: str
    run: DrillBody


ROOT_CHILDREN = ("state_supervisor", "state_registry", "services", "agent_supervisor", "workload")
SERVICES = ("rate_limiter", "signal_router", "coordination_manager", "agent_registry")
SERVICES_WITH_MONITORS = ("signal_router", "state_registry", "agent_registry")


async def _root_children(ctx: DrillContext) -> list[str]:
    return [str(child.id) for child in await ctx.children(ctx.root)]


# -- 1 ---------------------------------------------------------------------------


async def rest_for_one_cascade(ctx: DrillContext) -> None:
    """Kill state_supervisor: later siblings stop youngest first, restart in order, agents keep state."""
    root = ctx.rt.whereis(ctx.root)
    assert root is not None
    async with ctx.step("put a marker into every agent's state") as step:
        siblings = await _root_children(ctx)
        agents = [str(child.id) for child in await ctx.children("agent_supervisor")]
        markers = {agent: f"drill-marker-{index}" for index, agent in enumerate(agents)}
        for agent, marker in markers.items():
            await Agent.put(ctx.rt, agent, "drill_marker", marker)
        before = await ctx.pids([f"{ctx.root}/{name}" for name in siblings])
        agent_pids = {agent: ctx.rt.whereis(agent) for agent in agents}
        step.happened.append(f"root children in start order: {', '.join(siblings)}")
    async with ctx.step("kill state_supervisor") as step:
        kill = await ctx.kill(f"{ctx.root}/state_supervisor")
        step.happened.append(f"{kill.pid!r} exited with {kill.reason!r}; settled in {kill.seconds * 1000:.1f} ms")
        later = siblings[siblings.index("state_supervisor") + 1:]
        ctx.expect_equal(step, "later siblings stopped youngest first", list(reversed(later)), kill.stopped(root))
        ctx.expect_equal(step, "state_supervisor and later siblings started in start order",
                         siblings[siblings.index("state_supervisor"):], kill.started(root))
        after = await ctx.pids([f"{ctx.root}/{name}" for name in siblings])
        changed = [path.split("/")[-1] for path in before if before[path] is not after[path]]
        ctx.expect_equal(step, "every root child from state_supervisor on has a new pid",
                         siblings[siblings.index("state_supervisor"):], changed)
        step.happened.append("pids: " + ", ".join(
            f"{path.split('/')[-1]} {before[path]!r}->{after[path]!r}" for path in before
        ))
    async with ctx.step("every agent came back with its state") as step:
        for agent, marker in markers.items():
            state = await Agent.state(ctx.rt, agent)
            ctx.expect(step, f"{agent} restarted", ctx.rt.whereis(agent) is not agent_pids[agent],
                       "a new pid", repr(ctx.rt.whereis(agent)))
            ctx.expect_equal(step, f"{agent} kept its state", marker, state.get("drill_marker"))


# -- 2 ---------------------------------------------------------------------------


async def one_for_one_isolation(ctx: DrillContext) -> None:
    """Kill one service: only it restarts; its siblings and the rest of the tree keep their pids."""
    services = ctx.rt.whereis("services")
    assert services is not None
    async with ctx.step("kill rate_limiter") as step:
        paths = [f"{ctx.root}/{name}" for name in await _root_children(ctx)]
        paths += [f"{ctx.root}/services/{name}" for name in SERVICES]
        before = await ctx.pids(paths)
        kill = await ctx.kill(f"{ctx.root}/services/rate_limiter")
        after = await ctx.pids(paths)
        changed = [path for path in paths if before[path] is not after[path]]
        step.happened.append(f"{kill.pid!r} exited with {kill.reason!r}; restarted as "
                             f"{after[f'{ctx.root}/services/rate_limiter']!r}")
        ctx.expect_equal(step, "only rate_limiter has a new pid", [f"{ctx.root}/services/rate_limiter"], changed)
        ctx.expect_equal(step, "services stopped no sibling", [], kill.stopped(services))
        ctx.expect_equal(step, "services started only rate_limiter", ["rate_limiter"], kill.started(services))


# -- 3 ---------------------------------------------------------------------------


async def intensity_escalation(ctx: DrillContext) -> None:
    """Kill a service 4 times within 5 s: services gives up with "shutdown"; the root restarts it and later siblings."""
    root = ctx.rt.whereis(ctx.root)
    assert root is not None
    async with ctx.step("kill rate_limiter until services gives up (at most 4 times)") as step:
        siblings = await _root_children(ctx)
        before = await ctx.pids([f"{ctx.root}/{name}" for name in siblings])
        services = before[f"{ctx.root}/services"]
        services_ref = ctx.me.monitor(services)
        kills = 0
        started = time.perf_counter()
        while kills < 4 and ctx.rt.is_alive(services):
            await ctx.kill(f"{ctx.root}/services/rate_limiter")
            kills += 1
        elapsed = time.perf_counter() - started
        step.happened.append(f"{kills} kills in {elapsed * 1000:.1f} ms")
        gave_up = ctx.expect(step, "services gave up within 4 kills", not ctx.rt.is_alive(services),
                             "services exited", "services exited" if not ctx.rt.is_alive(services) else "still running")
        if not gave_up:
            return
        down = await ctx.me.receive(lambda m: getattr(m, "ref", None) is services_ref)
        ctx.expect_equal(step, "services exited with reason", "shutdown", down.reason)
    if ctx.rt.is_alive(services):
        return
    async with ctx.step("the root restarted services and every later sibling") as step:
        await ctx.settle([root])
        after = await ctx.pids([f"{ctx.root}/{name}" for name in siblings])
        changed = [path.split("/")[-1] for path in before if before[path] is not after[path]]
        expected = siblings[siblings.index("services"):]
        ctx.expect_equal(step, "restarted root children", expected, changed)
        step.happened.append("pids: " + ", ".join(
            f"{path.split('/')[-1]} {before[path]!r}->{after[path]!r}" for path in before
        ))


# -- 4 ---------------------------------------------------------------------------


async def monitor_leak(ctx: DrillContext) -> None:
    """1,000 subscribers die: no monitor or subscription is left behind (router, registry, agent registry)."""
    count = 1000
    router, registry, agent_registry = (ctx.rt.whereis(name) for name in SERVICES_WITH_MONITORS)
    baseline = ctx.rt.monitor_count()
    held_before = {pid: _monitors_held(ctx, pid) for pid in (router, registry, agent_registry)}
    async with ctx.step(f"{count} signal subscribers subscribe and die") as step:
        subscribers = await ctx.start_probes(probes.subscriber, [("drill.leak.**",)] * count)
        await ctx.kill_all(subscribers)
        subscriptions = await SignalRouter.subscriptions(ctx.rt, "signal_router")  # answered after its Downs
        dead = set(subscribers)
        ctx.expect_equal(step, "subscriptions left by dead subscribers", 0,
                         sum(1 for _, pid in subscriptions if pid in dead))
        ctx.expect_equal(step, "monitors the router holds", held_before[router], _monitors_held(ctx, router))
    async with ctx.step(f"{count} live processes subscribe and unsubscribe") as step:
        leavers = await ctx.start_probes(probes.unsubscriber, [("drill.leak.**",)] * count)
        await SignalRouter.subscriptions(ctx.rt, "signal_router")
        ctx.expect_equal(step, "monitors the router holds while they live on", held_before[router],
                         _monitors_held(ctx, router))
        await ctx.kill_all(leavers)
    async with ctx.step(f"{count} live processes register and unregister") as step:
        leavers = await ctx.start_probes(probes.registry_leaver, [(f"drill-leave-{n}",) for n in range(count)])
        await Registry.count(ctx.rt, "state_registry")
        ctx.expect_equal(step, "monitors the state registry holds while they live on", held_before[registry],
                         _monitors_held(ctx, registry))
        await ctx.kill_all(leavers)
    async with ctx.step(f"{count} registry holders register and die") as step:
        holders = await ctx.start_probes(probes.registry_holder, [(f"drill-leak-{index}",) for index in range(count)])
        await ctx.kill_all(holders)
        await Registry.count(ctx.rt, "state_registry")
        agents = await AgentRegistry.agents(ctx.rt, "agent_registry")
        ctx.expect_equal(step, "monitors the state registry holds", held_before[registry],
                         _monitors_held(ctx, registry))
        ctx.expect_equal(step, "monitors the agent registry holds", held_before[agent_registry],
                         _monitors_held(ctx, agent_registry))
        ctx.expect_equal(step, "drill holders left in agent_registry", [],
                         [agent for agent in agents if agent.startswith("drill-leak")])
    async with ctx.step("monitor_count back at its baseline") as step:
        if ctx.live:
            step.happened.append("live: the workload moves the global count, so only per-service counts are exact")
        else:
            ctx.expect_equal(step, "rt.monitor_count()", baseline, ctx.rt.monitor_count())


def _monitors_held(ctx: DrillContext, pid: Pid | None) -> int:
    info = None if pid is None else ctx.rt.process_info(pid)
    return -1 if info is None else len(info.monitors)


# -- 5 ---------------------------------------------------------------------------


async def _checker(proc: Process, key: str, drill: Pid) -> None:
    decision = await RateLimiter.check(proc.runtime, "rate_limiter", "drill_race", key)
    probes.report(proc, drill, "decision", decision.allowed)


async def rate_limiter_race(ctx: DrillContext) -> None:
    """200 concurrent checks against a limit of 100: exactly 100 are allowed."""
    async with ctx.step("200 processes check at once against limit=100") as step:
        await RateLimiter.configure(ctx.rt, "rate_limiter", "drill_race", scale_ms=3_600_000, limit=100)
        key = f"race-{ctx.me.pid.id}-{time.monotonic_ns()}"
        for _ in range(200):
            ctx.rt.spawn(_checker, key, ctx.me.pid)
        allowed = denied = 0
        for _ in range(200):
            message = await ctx.me.receive(lambda m: isinstance(m, tuple) and m[:1] == ("decision",), timeout=10.0)
            if message[1]:
                allowed += 1
            else:
                denied += 1
        step.happened.append(f"{allowed} allowed, {denied} denied")
        ctx.expect_equal(step, "allowed", 100, allowed)
        ctx.expect_equal(step, "denied", 100, denied)


# -- 6 ---------------------------------------------------------------------------


async def sync_emission(ctx: DrillContext) -> None:
    """route_sync reports exactly the live handlers, delivered by the time it returns; a dead one is not counted."""
    pattern = f"drill.sync{ctx.me.pid.id}.*"
    async with ctx.step("3 live handlers and 1 that dies, then route_sync") as step:
        handlers = await ctx.start_probes(probes.subscriber, [(pattern,)] * 4)
        await ctx.kill_all(handlers[-1:])
        delivered = await SignalRouter.route_sync(
            ctx.rt, "signal_router", pattern.replace("*", "ping"), {"drill": "sync-emission"}
        )
        received = [_queued_signals(ctx, pid) for pid in handlers[:-1]]
        step.happened.append(f"route_sync returned {delivered}; queued at the handlers: {received}")
        ctx.expect_equal(step, "route_sync's delivered count", 3, delivered)
        ctx.expect_equal(step, "signals already in each live handler's mailbox when it returned", [1, 1, 1], received)
        await ctx.kill_all(handlers[:-1])


def _queued_signals(ctx: DrillContext, pid: Pid) -> int:
    """Messages waiting in a parked handler's mailbox: the signals delivered to it so far."""
    info = ctx.rt.process_info(pid)
    return 0 if info is None else info.mailbox_size


# -- 7 and 8: scratch trees (safe to run next to a live system) -----------------------------------


class _Probe(Server):
    """A child that records its start and stop, and exits as asked."""

    trap_exits = True

    async def init(self, name: str, journal: list[tuple[str, str]], stall: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.stall = stall
        journal.append(("start", name))

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("exit", "crash"):
                raise RuntimeError(f"{self.name} crashed on purpose")
            case ("exit", reason):
                raise Exit(reason)
            case "hang":
                return NO_REPLY
        return self.name

    async def terminate(self, reason: Any) -> None:
        self.journal.append(("stop", self.name))
        if self.stall:
            await asyncio.get_running_loop().create_future()  # never resolves: it must be killed


async def shutdown_order(ctx: DrillContext) -> None:
    """Stopping a supervisor stops its children in reverse start order, each by its shutdown spec."""
    journal: list[tuple[str, str]] = []
    specs = [
        _Probe.child_spec("first", journal, id="first"),
        _Probe.child_spec("second", journal, id="second", shutdown="brutal_kill"),
        _Probe.child_spec("third", journal, True, id="third", shutdown=0.05),
        _Probe.child_spec("fourth", journal, id="fourth", shutdown="infinity"),
    ]
    async with ctx.step("start a scratch supervisor, then stop it") as step:
        sup = await Supervisor.start_link(ctx.rt, specs, strategy="one_for_one")
        children = {str(child.id): child.pid for child in await Supervisor.which_children(ctx.rt, sup)}
        refs = {ctx.me.monitor(pid): name for name, pid in children.items() if isinstance(pid, Pid)}
        ctx.me.unlink(sup)
        stop_started = time.perf_counter()
        ctx.rt.exit(sup, "shutdown")
        await ctx.wait_down([sup])
        reasons = {}
        while refs:
            down = await ctx.me.receive(lambda m: getattr(m, "ref", None) in refs, timeout=10.0)
            reasons[refs.pop(down.ref)] = down.reason
        stopped = [name for event, name in journal if event == "stop"]
        step.happened.append(f"stopped in {(time.perf_counter() - stop_started) * 1000:.1f} ms: {stopped}")
        ctx.expect_equal(step, "terminate order (brutal_kill runs none)", ["fourth", "third", "first"], stopped)
        ctx.expect_equal(step, "exit reasons by shutdown spec",
                         {"fourth": "shutdown", "third": "killed", "second": "killed", "first": "shutdown"}, reasons)


async def restart_types(ctx: DrillContext) -> None:
    """permanent, transient and temporary children after normal, shutdown and crash exits."""
    rules: dict[str, dict[Restart, bool]] = {
        "normal": {"permanent": True, "transient": False, "temporary": False},
        "shutdown": {"permanent": True, "transient": False, "temporary": False},
        "crash": {"permanent": True, "transient": True, "temporary": False},
    }
    for exit_kind, expected in rules.items():
        async with ctx.step(f"each child exits with {exit_kind!r}") as step:
            journal: list[tuple[str, str]] = []
            specs = [_Probe.child_spec(restart, journal, id=restart, restart=restart) for restart in expected]
            sup = await Supervisor.start_link(ctx.rt, specs, strategy="one_for_one", max_restarts=10)
            before = {str(child.id): child.pid for child in await Supervisor.which_children(ctx.rt, sup)}
            for pid in before.values():
                assert isinstance(pid, Pid)
                try:
                    await ctx.rt.call(pid, ("exit", exit_kind))
                except CallExit:
                    pass
            after = {str(child.id): child.pid for child in await Supervisor.which_children(ctx.rt, sup)}
            restarted = {name: isinstance(after.get(name), Pid) and after[name] is not before[name]
                         for name in expected}
            ctx.expect_equal(step, "restarted", expected, restarted)
            kept = sorted(after)
            ctx.expect_equal(step, "specs kept", sorted(name for name in expected if name != "temporary"), kept)
            step.happened.append(f"after: {after}")
            ctx.me.unlink(sup)
            ctx.rt.exit(sup, "shutdown")
            await ctx.wait_down([sup])


# -- 9 ---------------------------------------------------------------------------


async def call_to_dying_server(ctx: DrillContext) -> None:
    """A call pending when its server dies fails at once with CallExit, not at its timeout."""
    timeout = 2.0
    async with ctx.step(f"call a server that never answers (timeout {timeout}s), then kill it") as step:
        journal: list[tuple[str, str]] = []
        server = await _Probe.start_link(ctx.rt, "silent", journal)
        assert server is not None
        ctx.me.unlink(server)
        caller = ctx.rt.spawn(_call_and_report, server, timeout, ctx.me.pid)
        await ctx.me.receive(lambda m: m == ("calling", caller), timeout=10.0)
        killed_at = time.perf_counter()
        ctx.rt.exit(server, "kill")
        report = await ctx.me.receive(lambda m: isinstance(m, tuple) and m[:1] == ("call_ended",), timeout=30.0)
        waited = time.perf_counter() - killed_at
        step.happened.append(f"the call ended with {report[1]} {waited * 1000:.2f} ms after the kill")
        ctx.expect_equal(step, "the call failed with", "CallExit('killed')", report[1])
        ctx.expect(step, "the caller learned at once (well before the timeout)", waited < timeout / 4,
                   f"< {timeout / 4:.1f} s", f"{waited:.3f} s")


async def _call_and_report(proc: Process, server: Pid, timeout: float, drill: Pid) -> None:
    probes.report(proc, drill, "calling", proc.pid)
    try:
        await proc.runtime.call(server, "hang", timeout=timeout)
        result = "a reply"
    except CallExit as exc:
        result = f"CallExit({exc.reason!r})"
    except CallTimeout:
        result = "CallTimeout"
    probes.report(proc, drill, "call_ended", result)


BUILTIN_DRILLS: tuple[Drill, ...] = (
    Drill("rest-for-one-cascade", "kill state_supervisor: later siblings restart in order, agents keep state",
          rest_for_one_cascade),
    Drill("one-for-one-isolation", "kill one service: only it restarts", one_for_one_isolation),
    Drill("intensity-escalation", "kill a service 4 times in 5 s: services gives up, the root restarts it",
          intensity_escalation),
    Drill("monitor-leak", "1,000 subscribers die: monitors and subscriptions back to baseline", monitor_leak),
    Drill("rate-limiter-race", "200 concurrent checks against limit 100: exactly 100 allowed", rate_limiter_race),
    Drill("sync-emission", "route_sync counts exactly the live handlers, delivered on return", sync_emission),
    Drill("shutdown-order", "a supervisor stops children in reverse start order by shutdown spec", shutdown_order),
    Drill("restart-types", "permanent, transient and temporary after normal, shutdown and crash exits",
          restart_types),
    Drill("call-to-dying-server", "a pending call fails at once when its server dies", call_to_dying_server),
)


def find_drill(name: str) -> Drill | None:
    """The built-in drill called `name`, or None."""
    return next((drill for drill in BUILTIN_DRILLS if drill.name == name), None)
