"""A Supervisor checked against a small pure model, on random trees and random programs (Hypothesis).

Each example builds one supervisor with 1 to 6 journaling workers of random
restart types, a random strategy and a random `max_restarts` (the clock stands
still, so every restart is in the window and giving up is modelled too), then
runs a random program of operations: a child ending (killed, crashing, exiting
"normal" or "shutdown" by itself), `terminate_child`, `restart_child`,
`delete_child` and `start_child`. After each operation the test waits until
the supervisor has settled and compares:

- the journal entries the operation produced (which children stopped and
  started, in which order) with the ones the model predicts;
- `which_children` with the model: ids in start order, restart types, which
  children run, and for each running child whether its pid must be the same
  as before or a new one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from observer.runtime import ChildNotFound, ChildRunning, Pid, Process, Runtime, Supervisor

from .supervision_helpers import (
    FakeClock,
    Journal,
    end_child,
    exit_message_of,
    worker,
)

RESTART_TYPES = ("permanent", "transient", "temporary")
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
ENDINGS = ("kill", "crash", "normal", "shutdown")
ABNORMAL_ENDINGS = ("kill", "crash")


# -- the model ---------------------------------------------------------------------------


@dataclass
class ModelChild:
    id: str
    restart: str
    running: bool = True
    incarnation: int = 1  # how many times it was started: a new incarnation is a new pid


@dataclass
class Outcome:
    """What an operation must produce."""

    journal: list[tuple[Any, ...]] = field(default_factory=list)
    error: type[Exception] | None = None
    gave_up: bool = False


@dataclass
class Model:
    """Which children a supervisor stops and starts, and in which order (DESIGN.md section 3, items 3 to 6)."""

    strategy: str
    max_restarts: int
    children: list[ModelChild]
    restarts: int = 0
    next_number: int = 0

    def child_ends(self, child: ModelChild, how: str) -> Outcome:
        outcome = Outcome()
        if how != "kill":  # a killed child's terminate does not run
            outcome.journal.append(("terminate", child.id, "Boom" if how == "crash" else how))
        child.running = False
        restart = child.restart == "permanent" or (child.restart == "transient" and how in ABNORMAL_ENDINGS)
        if not restart:
            if child.restart == "temporary":
                self.children.remove(child)
            return outcome
        self.restarts += 1
        if self.restarts > self.max_restarts:
            self._stop(list(reversed(self.children)), outcome)
            outcome.gave_up = True
            return outcome
        if self.strategy == "one_for_one":
            group = [child]
        elif self.strategy == "one_for_all":
            group = list(self.children)
        else:
            group = self.children[self.children.index(child):]
        self._stop(list(reversed(group)), outcome)
        for member in group:
            if member.restart == "temporary":
                self.children.remove(member)
            else:
                self._start(member, outcome)
        return outcome

    def terminate_child(self, child: ModelChild) -> Outcome:
        outcome = Outcome()
        self._stop([child], outcome)
        if child.restart == "temporary":
            self.children.remove(child)
        return outcome

    def restart_child(self, child: ModelChild) -> Outcome:
        outcome = Outcome()
        if child.running:
            outcome.error = ChildRunning
        else:
            self._start(child, outcome)
        return outcome

    def delete_child(self, child: ModelChild) -> Outcome:
        if child.running:
            return Outcome(error=ChildRunning)
        self.children.remove(child)
        return Outcome()

    def start_child(self, restart: str) -> tuple[ModelChild, Outcome]:
        child = ModelChild(f"new{self.next_number}", restart, running=False, incarnation=0)
        self.next_number += 1
        self.children.append(child)
        outcome = Outcome()
        self._start(child, outcome)
        return child, outcome

    def _stop(self, youngest_first: list[ModelChild], outcome: Outcome) -> None:
        for member in youngest_first:
            if member.running:
                outcome.journal.append(("terminate", member.id, "shutdown"))
                member.running = False

    def _start(self, member: ModelChild, outcome: Outcome) -> None:
        outcome.journal.append(("init", member.id))
        member.running = True
        member.incarnation += 1


# -- running a program against a real supervisor -----------------------------------------------

@dataclass(frozen=True)
class Operation:
    """One step of a program.

    `index` picks a child, modulo the number of children ("end" picks among
    the running ones); `ending` and `restart` are used only by "end" and
    "start_child".
    """

    kind: str  # "end", "terminate_child", "restart_child", "delete_child" or "start_child"
    index: int
    ending: str  # how a child ends, for "end"
    restart: str  # the restart type of the child "start_child" adds


KINDS = ("end", "end", "end", "end", "terminate_child", "restart_child", "delete_child", "start_child")
"""Half of the operations make a child end, so restarts pile up and supervisors give up."""

operations = st.builds(
    Operation,
    kind=st.sampled_from(KINDS),
    index=st.integers(0, 5),
    ending=st.sampled_from(ENDINGS),
    restart=st.sampled_from(RESTART_TYPES),
)


class PidBook:
    """The pid of each incarnation of each child: the same incarnation keeps its pid, a new one gets a new pid."""

    def __init__(self) -> None:
        self._pids: dict[tuple[str, int], Pid] = {}
        self._seen: set[Pid] = set()

    def check(self, child: ModelChild, pid: Any) -> None:
        assert isinstance(pid, Pid), f"{child.id} should run, but its pid is {pid!r}"
        known = self._pids.get((child.id, child.incarnation))
        if known is None:
            assert pid not in self._seen, f"{child.id} should have a new pid, but {pid!r} is an old one"
            self._pids[(child.id, child.incarnation)] = pid
            self._seen.add(pid)
        else:
            assert pid is known, f"{child.id} should have kept {known!r}, but has {pid!r}"

    def pid_of(self, child: ModelChild) -> Pid:
        return self._pids[(child.id, child.incarnation)]


async def check_children(rt: Runtime, sup: Pid, model: Model, book: PidBook) -> None:
    children = await Supervisor.which_children(rt, sup)
    assert [(child.id, child.restart) for child in children] == [
        (child.id, child.restart) for child in model.children
    ]
    for real, modelled in zip(children, model.children, strict=True):
        if modelled.running:
            book.check(modelled, real.pid)
        else:
            assert real.pid is None, f"{modelled.id} should not run, but its pid is {real.pid!r}"


async def run_program(strategy: str, restart_types: list[str], max_restarts: int, program: list[Operation]) -> None:
    journal: Journal = []
    model = Model(strategy, max_restarts, [ModelChild(f"w{n}", restart) for n, restart in enumerate(restart_types)])
    book = PidBook()
    async with Runtime(clock=FakeClock()) as rt, rt.attached(trap_exits=True) as me:
        specs = [worker(child.id, journal, restart=child.restart) for child in model.children]
        sup = await Supervisor.start_link(rt, specs, strategy=strategy, max_restarts=max_restarts)
        assert journal == [("init", child.id) for child in model.children]
        await check_children(rt, sup, model, book)

        for operation in program:
            mark = len(journal)
            outcome = await perform(rt, me, sup, model, book, journal, operation)
            if outcome is None:
                continue  # the operation does not apply to the current tree
            if outcome.gave_up:
                assert (await exit_message_of(me, sup)).reason == "shutdown"
                assert journal[mark:] == outcome.journal
                assert rt.processes() == [me.pid]
                return
            await check_children(rt, sup, model, book)  # queued after any exit: the supervisor has settled
            assert journal[mark:] == outcome.journal, f"after {operation}"


async def perform(
    rt: Runtime, me: Process, sup: Pid, model: Model, book: PidBook, journal: Journal, operation: Operation
) -> Outcome | None:
    """Apply `operation` to the model and to the supervisor; None if it does not apply."""
    if operation.kind == "start_child":
        added, addition = model.start_child(operation.restart)
        await Supervisor.start_child(rt, sup, worker(added.id, journal, restart=added.restart))
        return addition
    if operation.kind == "end":
        running = [child for child in model.children if child.running]
        if not running:
            return None
        ending = running[operation.index % len(running)]
        pid = book.pid_of(ending)
        ended = model.child_ends(ending, operation.ending)
        await end_child(rt, me, pid, operation.ending)
        return ended
    if not model.children:
        return None
    child = model.children[operation.index % len(model.children)]
    outcome: Outcome = getattr(model, operation.kind)(child)
    admin = getattr(Supervisor, operation.kind)
    if outcome.error is None:
        await admin(rt, sup, child.id)
    else:
        try:
            await admin(rt, sup, child.id)
        except (ChildRunning, ChildNotFound) as error:
            assert type(error) is outcome.error
        else:
            raise AssertionError(f"{operation.kind}({child.id!r}) should raise {outcome.error.__name__}")
    return outcome


@settings(max_examples=60, deadline=None)
@given(
    strategy=st.sampled_from(STRATEGIES),
    restart_types=st.lists(st.sampled_from(RESTART_TYPES), min_size=1, max_size=6),
    max_restarts=st.integers(0, 5),
    program=st.lists(operations, min_size=1, max_size=20),
)
def test_supervisor_matches_the_model(
    strategy: str, restart_types: list[str], max_restarts: int, program: list[Operation]
) -> None:
    asyncio.run(run_program(strategy, restart_types, max_restarts, program))
