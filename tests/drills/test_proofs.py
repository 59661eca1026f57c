"""Every built-in drill fails when the fault it guards against is put back.

Each test re-introduces one anti-pattern of the reference platform (by
patching the runtime or the system), runs the drill headless, and checks
that the drill fails with a report that names the broken expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from observer.drills import DrillReport, find_drill, run_headless
from observer.runtime import Pid, Runtime, Supervisor
from observer.runtime import supervisor as supervisor_module
from observer.runtime.rate_limiter import Decision, RateLimiter, _Check
from observer.runtime.signal_router import SignalRouter


async def run(name: str) -> DrillReport:
    drill = find_drill(name)
    assert drill is not None
    return await run_headless(drill)


def assert_fails_on(report: DrillReport, broken: str) -> None:
    """The drill failed, and one failure line names `broken`."""
    assert not report.passed, report.render(verbose=True)
    assert any(broken in line for line in report.failures()), report.failures()


def force_flags(monkeypatch: pytest.MonkeyPatch, name: str, **flags: Any) -> None:
    """Make the supervisor registered as `name` start with other flags (the fault)."""
    original: Callable[..., Any] = Supervisor.start_link.__func__  # type: ignore[attr-defined]

    async def start_link(cls: type[Supervisor], rt: Runtime, children: Any, **options: Any) -> Pid:
        if options.get("name") == name:
            options.update(flags)
        result: Pid = await original(cls, rt, children, **options)
        return result

    monkeypatch.setattr(Supervisor, "start_link", classmethod(start_link))


async def test_every_builtin_drill_passes_on_the_fixed_system() -> None:
    from observer.drills import BUILTIN_DRILLS

    for drill in BUILTIN_DRILLS:
        report = await run_headless(drill)
        assert report.passed, report.render(verbose=True)


async def test_rest_for_one_cascade_fails_when_the_root_is_one_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    force_flags(monkeypatch, "system", strategy="one_for_one")
    assert_fails_on(await run("rest-for-one-cascade"), "later siblings stopped youngest first")


async def test_one_for_one_isolation_fails_when_services_restart_together(monkeypatch: pytest.MonkeyPatch) -> None:
    force_flags(monkeypatch, "services", strategy="one_for_all")
    assert_fails_on(await run("one-for-one-isolation"), "only rate_limiter has a new pid")


async def test_intensity_escalation_fails_when_services_never_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    force_flags(monkeypatch, "services", max_restarts=1000)
    assert_fails_on(await run("intensity-escalation"), "services gave up within 4 kills")


async def test_monitor_leak_fails_when_the_router_forgets_to_demonitor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SignalRouter, "demonitor", lambda self, ref, flush=False: True)
    assert_fails_on(await run("monitor-leak"), "monitors the router holds while they live on")


async def test_monitor_leak_fails_when_the_router_keeps_dead_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    async def ignore_downs(self: SignalRouter, message: Any) -> None:
        return None

    monkeypatch.setattr(SignalRouter, "handle_info", ignore_downs)
    assert_fails_on(await run("monitor-leak"), "subscriptions left by dead subscribers")


async def test_rate_limiter_race_fails_when_check_and_increment_are_split(monkeypatch: pytest.MonkeyPatch) -> None:
    async def racy_check(cls: type[RateLimiter], rt: Runtime, server: Any, limiter_id: Any, key: Any) -> Decision:
        buckets = await RateLimiter.buckets(rt, server)  # read ...
        count = next((b.count for b in buckets if b.limiter_id == limiter_id and b.key == key), 0)
        if count >= 100:
            return Decision(False, count)
        await rt.call(server, _Check(limiter_id, key))  # ... then increment, across an await
        return Decision(True, count + 1)

    monkeypatch.setattr(RateLimiter, "check", classmethod(racy_check))
    assert_fails_on(await run("rate-limiter-race"), "allowed")


async def test_sync_emission_fails_when_emission_does_not_wait_for_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fire_and_forget(
        cls: type[SignalRouter], rt: Runtime, router: Any, signal_type: str, signal: Any, timeout: float = 5.0
    ) -> int:
        known = len(await SignalRouter.subscriptions(rt, router))  # what telemetry had seen
        SignalRouter.route(rt, router, signal_type, signal)  # then a cast, not a call
        return known

    monkeypatch.setattr(SignalRouter, "route_sync", classmethod(fire_and_forget))
    assert_fails_on(await run("sync-emission"), "already in each live handler's mailbox")


async def test_shutdown_order_fails_when_children_stop_in_start_order(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stop_in_start_order(self: Supervisor) -> None:
        for child in list(self._children.values()):
            if isinstance(child.pid, Pid):
                await self._stop(child)

    monkeypatch.setattr(Supervisor, "_stop_all", stop_in_start_order)
    assert_fails_on(await run("shutdown-order"), "terminate order")


async def test_restart_types_fails_when_transient_children_restart_after_normal_exits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervisor_module, "is_normal_exit", lambda reason: False)
    assert_fails_on(await run("restart-types"), "restarted")


async def test_call_to_dying_server_fails_when_callers_learn_only_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = Runtime._die

    def die_without_failing_calls(self: Runtime, proc: Any, reason: Any) -> None:
        proc._calls = None  # pending callers are not told
        original(self, proc, reason)

    monkeypatch.setattr(Runtime, "_die", die_without_failing_calls)
    assert_fails_on(await run("call-to-dying-server"), "the call failed with")
