"""AgentRegistry: which agents are alive, tracked with one monitor each, released with flush."""

from __future__ import annotations

from typing import Any

from observer.runtime import Caller, Down, Pid, Ref, Runtime, Server


class AgentRegistry(Server):
    """Maps agent ids to their current pids; an agent that dies or re-registers leaves no monitor behind."""

    # Invariant: one monitor per entry; `_by_ref` and `_agents` describe the same monitors.
    _agents: dict[str, tuple[Pid, Ref]]
    _by_ref: dict[Ref, str]

    @classmethod
    async def register(cls, rt: Runtime, registry: Pid | str, agent_id: str, pid: Pid) -> None:
        """Record `pid` as agent `agent_id` (replacing an earlier pid of that agent)."""
        await rt.call(registry, ("register", agent_id, pid))

    @classmethod
    async def agents(cls, rt: Runtime, registry: Pid | str) -> dict[str, Pid]:
        """Every live agent: id -> pid."""
        result: dict[str, Pid] = await rt.call(registry, ("agents",))
        return result

    async def init(self) -> None:
        self._agents = {}
        self._by_ref = {}

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        match request:
            case ("register", str(agent_id), Pid() as pid):
                self._forget(agent_id)
                ref = self.monitor(pid)
                self._agents[agent_id] = (pid, ref)
                self._by_ref[ref] = agent_id
                return None
            case ("agents",):
                return {agent_id: pid for agent_id, (pid, _) in self._agents.items()}
        raise ValueError(f"unknown agent registry request {request!r}")

    async def handle_info(self, message: Any) -> None:
        if type(message) is Down:
            agent_id = self._by_ref.pop(message.ref, None)
            if agent_id is not None:
                del self._agents[agent_id]

    def _forget(self, agent_id: str) -> None:
        entry = self._agents.pop(agent_id, None)
        if entry is not None:
            del self._by_ref[entry[1]]
            self.demonitor(entry[1], flush=True)
