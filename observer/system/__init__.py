"""The embedded default system: the reference agent platform, rebuilt on observer.runtime."""

from .agent_registry import AgentRegistry
from .agents import Agent
from .coordination import Coordination, CoordinationManager
from .errors import ServiceUnavailable, StorageError
from .state_store import StateStore, StoreLocation
from .tree import start_system
from .workload import Workload, WorkloadStats

__all__ = [
    "Agent",
    "AgentRegistry",
    "Coordination",
    "CoordinationManager",
    "ServiceUnavailable",
    "StateStore",
    "StorageError",
    "StoreLocation",
    "Workload",
    "WorkloadStats",
    "start_system",
]
