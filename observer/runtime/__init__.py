"""OTP-grade supervision for Python asyncio: processes, links, monitors, servers and supervisors."""

from .dynamic_supervisor import DynamicSupervisor
from .errors import (
    AlreadyPresent,
    AlreadyRegistered,
    AlreadyStarted,
    CallExit,
    CallingSelf,
    CallTimeout,
    ChildNotFound,
    ChildRestarting,
    ChildRunning,
    InvalidArgument,
    InvalidChildSpec,
    InvalidSupervisorFlags,
    MaxChildren,
    NoProc,
    NotAServer,
    NotASupervisor,
    NotRunning,
    ObserverError,
    StartError,
)
from .introspection import Inspection
from .process import Caller, Down, Exit, ExitMessage, Pid, Process, Ref, is_normal_exit
from .registry import Registry
from .runtime import ProcessInfo, ProcessStats, Runtime, RuntimeEvent, current_runtime
from .server import IGNORE, NO_REPLY, Server
from .spec import Child, ChildCounts, ChildSpec
from .supervision import SupervisorFlags
from .supervisor import Supervisor
from .tracing import TraceEvent

__all__ = [
    "IGNORE",
    "NO_REPLY",
    "AlreadyPresent",
    "AlreadyRegistered",
    "AlreadyStarted",
    "CallExit",
    "CallTimeout",
    "Caller",
    "CallingSelf",
    "Child",
    "ChildCounts",
    "ChildNotFound",
    "ChildRestarting",
    "ChildRunning",
    "ChildSpec",
    "Down",
    "DynamicSupervisor",
    "Exit",
    "ExitMessage",
    "Inspection",
    "InvalidArgument",
    "InvalidChildSpec",
    "InvalidSupervisorFlags",
    "MaxChildren",
    "NoProc",
    "NotAServer",
    "NotASupervisor",
    "NotRunning",
    "ObserverError",
    "Pid",
    "Process",
    "ProcessInfo",
    "ProcessStats",
    "Ref",
    "Registry",
    "Runtime",
    "RuntimeEvent",
    "StartError",
    "Server",
    "Supervisor",
    "SupervisorFlags",
    "TraceEvent",
    "current_runtime",
    "is_normal_exit",
]
