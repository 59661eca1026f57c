"""CoordinationManager: assigns tasks to agents and notices when an agent dies holding tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from observer.runtime import Caller, Down, Pid, Ref, Runtime, Server


@dataclass(frozen=True, slots=True)
class Coordination:
    """What the manager tracks: task -> agent pid, and tasks whose agent died before completing them."""

    assignments: dict[str, Pid]
    orphaned: tuple[str, ...]
    monitors: int


class CoordinationManager(Server):
    """Tracks which agent holds which task, with one monitor per agent that holds any.

    The monitor is taken with an agent's first task and released (with flush)
    when its last task completes; when the agent dies first, its tasks become
    orphaned so whoever coordinates can hand them out again.
    """

    # Invariant: an agent pid has an entry in `_holders` exactly while it holds a task.
    _tasks: dict[str, Pid]
    _holders: dict[Pid, tuple[Ref, set[str]]]
    _orphaned: list[str]

    @classmethod
    async def assign(cls, rt: Runtime, manager: Pid | str, task_id: str, agent: Pid) -> None:
        """Give `task_id` to `agent` (moving it from another agent if needed)."""
        await rt.call(manager, ("assign", task_id, agent))

    @classmethod
    async def complete(cls, rt: Runtime, manager: Pid | str, task_id: str) -> bool:
        """Mark `task_id` done; False if it was not assigned."""
        result: bool = await rt.call(manager, ("complete", task_id))
        return result

    @classmethod
    async def state(cls, rt: Runtime, manager: Pid | str) -> Coordination:
        """Assignments, orphaned tasks and how many monitors the manager holds."""
        result: Coordination = await rt.call(manager, ("state",))
        return result

    async def init(self) -> None:
        self._tasks = {}
        self._holders = {}
        self._orphaned = []

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("assign", str(task_id), Pid() as agent):
                self._release(task_id)
                holder = self._holders.get(agent)
                if holder is None:
                    holder = self._holders[agent] = (self.monitor(agent), set())
                holder[1].add(task_id)
                self._tasks[task_id] = agent
                return None
            case ("complete", str(task_id)):
                return self._release(task_id)
            case ("state",):
                return Coordination(dict(self._tasks), tuple(self._orphaned), len(self._holders))
        raise ValueError(f"unknown coordination request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is Down:
            holder = self._holders.get(message.pid)
            if holder is not None and holder[0] is message.ref:
                del self._holders[message.pid]
                for task_id in sorted(holder[1]):
                    del self._tasks[task_id]
                    self._orphaned.append(task_id)
                del self._orphaned[:-100]  # keep the latest hundred

    def _release(self, task_id: str) -> bool:
        agent = self._tasks.pop(task_id, None)
        if agent is None:
            return False
        ref, tasks = self._holders[agent]
        tasks.discard(task_id)
        if not tasks:
            del self._holders[agent]
            self.demonitor(ref, flush=True)
        return True
