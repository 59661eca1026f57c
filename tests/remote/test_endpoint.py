"""serve() and connect() in one process: the wire, snapshots and their deltas, control, garbage, TCP, cleanup.

The endpoint runs in its own thread either way, so a client on the runtime's own loop talks to it
exactly as one in another process would (the subprocess tests cover what only another process can).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from observer.journal import Journal, LogNote
from observer.remote import Endpoint, EndpointError, ReadOnly, Unreachable, connect, serve, wire
from observer.remote.discovery import socket_path
from observer.runtime import ChildRunning, Down, NoProc, Pid, Runtime
from observer.snapshot import NodeSnapshot, SnapshotBuilder

from .trees import tree

GUARD = 20.0


@asynccontextmanager
async def served(**options: Any) -> AsyncIterator[tuple[Runtime, Pid, Endpoint]]:
    """A runtime running the test tree, served with `options`, for at most `GUARD` seconds."""
    async with asyncio.timeout(GUARD), Runtime() as rt:
        root = await tree(rt)
        async with serve(rt, **options) as endpoint:
            yield rt, root, endpoint


def shape(node: NodeSnapshot) -> tuple[Any, ...]:
    """A node and its subtree as plain values (pids as their text)."""
    return (node.slot, node.label, node.child_id, repr(node.pid), node.kind, node.strategy, node.restart,
            node.status, node.restarts, node.name, node.child_count, node.folded,
            tuple(shape(child) for child in node.children))


def find(node: NodeSnapshot, label: str) -> NodeSnapshot:
    """The node labelled `label` under `node`."""
    if node.label == label:
        return node
    for child in node.children:
        with contextlib.suppress(LookupError):
            return find(child, label)
    raise LookupError(label)


async def raw_lines(path: Path, *lines: bytes) -> list[dict[str, Any]]:
    """Send raw lines to an endpoint; every line it answers with until it closes the connection."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=wire.MAX_RESPONSE_LINE)
    try:
        with contextlib.suppress(ConnectionError):  # the endpoint may close before it has read everything
            for line in lines:
                writer.write(line)
            await writer.drain()
        answers = []
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                answers.append(json.loads(line))
        return answers
    finally:
        writer.close()


HELLO = b'{"id": 1, "op": "hello", "version": %d}\n' % wire.VERSION


# -- hello and snapshots ------------------------------------------------------------------------------------


async def test_hello_says_who_the_service_is_and_that_its_loop_runs(xdg: Path) -> None:
    async with served() as (rt, _, endpoint), connect(os.getpid()) as conn:
        hello = await conn.hello()
        assert endpoint.path == socket_path(os.getpid()) == xdg / "observer" / f"{os.getpid()}.sock"
        assert hello["os_pid"] == os.getpid()
        assert hello["version"] == wire.VERSION
        assert hello["control"] is False and conn.control is False
        assert hello["processes"] == len(rt.processes())
        assert hello["loop_blocked"] == 0.0
        assert isinstance(hello["argv"], list) and hello["python"]


async def test_the_snapshot_is_the_one_the_app_would_take(xdg: Path) -> None:
    async with served() as (rt, root, _), connect(str(socket_path(os.getpid()))) as conn:
        remote = await conn.snapshot()
        local = SnapshotBuilder(rt, Journal(), started_at=rt.clock()).take(root)
        assert remote.root is not None and local.root is not None
        assert shape(remote.root) == shape(local.root)
        assert remote.process_count == local.process_count == len(rt.processes())
        assert remote.monitor_count == rt.monitor_count()
        assert remote.root_alive and remote.root_exit is None
        assert str(remote.root.pid) == str(root) == repr(root)
        assert remote.host is not None and remote.host.threads >= 2  # the endpoint's thread is one


async def test_successive_snapshots_send_and_rebuild_only_what_changed(xdg: Path) -> None:
    async with served() as (rt, _, _), connect(os.getpid()) as conn:
        first = await conn.snapshot()
        again = await conn.snapshot()
        assert again.root is first.root and again.log is first.log and again.monitors is first.monitors
        assert first.root is not None
        worker = rt.whereis("worker_2")
        assert worker is not None
        async with rt.attached() as proc:
            proc.monitor(worker)
            rt.exit(worker, "kill")
            await proc.receive(lambda message: isinstance(message, Down) and message.pid is worker)
        while (after := await conn.snapshot()).root is None or find(after.root, "worker_2").status != "running" \
                or find(after.root, "worker_2").restarts == 0:
            pass  # the restart is a few loop turns behind the Down
        assert after.root is not None and after.root is not first.root
        assert find(after.root, "echo") is find(first.root, "echo")  # unchanged nodes: the same objects
        assert find(after.root, "worker_1") is find(first.root, "worker_1")
        restarted = find(after.root, "worker_2")
        assert restarted.restarts == 1 and restarted.previous_pid is find(first.root, "worker_2").pid
        assert after.log[: len(first.log)] == first.log


async def test_pids_are_one_object_per_process_and_print_as_in_the_service(xdg: Path) -> None:
    async with served(control=True) as (rt, _, _), connect(os.getpid()) as conn:
        snapshot = await conn.snapshot()
        assert snapshot.root is not None
        echo = find(snapshot.root, "echo").pid
        assert echo is not None and str(echo) == repr(rt.whereis("echo"))
        inspection = await conn.inspect("echo")
        assert inspection.info.pid is echo
        assert inspection.info.parent is snapshot.root.pid
        assert inspection.awaiting == "receive"
        assert (await conn.inspect(echo)).info.pid is echo


async def test_a_stall_of_the_runtimes_loop_is_recorded_with_the_blocking_function(xdg: Path) -> None:
    async with served(stall_threshold=0.1) as _, connect(os.getpid()) as conn:
        assert await conn.stalls() == []

        def block_here() -> None:
            time.sleep(0.3)

        block_here()
        stalls = await conn.stalls()
        assert len(stalls) == 1
        stall = stalls[0]
        assert not stall.ongoing and 0.1 <= stall.seconds <= 0.3 + 0.1
        assert stall.stack[0].endswith(" in test_a_stall_of_the_runtimes_loop_is_recorded_with_the_blocking_function."
                                       "<locals>.block_here")
        assert "test_endpoint.py:" in stall.stack[0]
        assert stall.pid is None  # the test's own task is no process
        notes = [entry for entry in (await conn.snapshot()).log if isinstance(entry, LogNote)]
        assert any(note.text.startswith("loop blocked 0.") and "block_here" in note.text for note in notes)


# -- control --------------------------------------------------------------------------------------------------


async def test_a_read_only_endpoint_refuses_control_and_says_how_to_allow_it(xdg: Path) -> None:
    async with served() as (rt, _, endpoint), connect(os.getpid()) as conn:
        for attempt in (conn.kill("echo"), conn.terminate("echo"), conn.restart("echo"), conn.suspend("echo"),
                        conn.resume("echo")):
            with pytest.raises(ReadOnly, match=r"serve\(rt, control=True\).*observer run --control"):
                await attempt
        with pytest.raises(ReadOnly):
            async for _ in conn.trace("echo"):
                pass
        # The endpoint refuses too, for a client that does not check first.
        kill = b'{"id": 2, "op": "kill", "target": {"name": "echo"}}\n'
        hello, refused, *_ = await raw_lines(endpoint.path, HELLO, kill, b"not json\n")
        assert "ok" in hello and refused["error"]["kind"] == "read_only"
        assert rt.whereis("echo") is not None


async def test_kill_terminate_and_restart_with_control(xdg: Path) -> None:
    async with served(control=True) as (rt, _, _), connect(os.getpid()) as conn:
        echo = rt.whereis("echo")
        assert echo is not None
        async with rt.attached() as proc:
            proc.monitor(echo)
            await conn.kill("echo", reason="because")
            down = await proc.receive(lambda message: isinstance(message, Down))
        assert down.reason == "because"
        await conn.snapshot()  # sees scratch running, so that the next one knows its last pid
        await conn.terminate("scratch")
        snapshot = await conn.snapshot()
        assert snapshot.root is not None
        stopped = find(snapshot.root, "scratch")
        assert stopped.status == "stopped" and stopped.pid is None and stopped.previous_pid is not None
        with pytest.raises(NoProc, match="scratch"):
            await conn.kill("scratch")
        restarted = await conn.restart(stopped.previous_pid)  # a stopped child, by its last pid
        assert restarted is not None and str(restarted) == repr(rt.whereis("scratch"))
        with pytest.raises(ChildRunning):
            await conn.restart("scratch")
        await conn.terminate("app/scratch")
        assert rt.whereis("scratch") is None
        again = await conn.restart("app/scratch")  # and by its path
        assert again is not None and str(again) == repr(rt.whereis("scratch"))
        log = [entry.text for entry in (await conn.snapshot()).log if isinstance(entry, LogNote)]
        assert log[0].startswith("remote: exit 'because' sent to echo <0.")
        assert "remote: restart_child(app <0.1.0>, 'scratch')" in log


async def test_unknown_targets_are_noproc(xdg: Path) -> None:
    async with served(control=True) as _, connect(os.getpid()) as conn:
        for target in ("nobody", "<0.999.0>", Pid(999), "app/nothing", "elsewhere/echo"):
            with pytest.raises(NoProc):
                await conn.kill(target)
        with pytest.raises(NoProc):
            await conn.inspect("nobody")
        with pytest.raises(NoProc):
            await conn.restart("<0.999.0>")
        assert (await conn.hello())["processes"] > 0  # the connection is still good


async def test_trace_streams_the_targets_messages(xdg: Path) -> None:
    async with served(control=True) as (rt, _, _), connect(os.getpid()) as conn:
        echo = rt.whereis("echo")
        assert echo is not None
        snapshot_pid = find((await conn.snapshot()).root, "echo").pid  # type: ignore[arg-type]
        events = []
        calls = 0

        async def collect() -> None:
            async with contextlib.aclosing(conn.trace("echo", limit=3)) as stream:
                async for event in stream:
                    events.append(event)

        async def call_until_traced() -> None:
            nonlocal calls
            while len(events) < 3:
                calls += 1
                assert await rt.call(echo, ("ping", calls)) == ("ping", calls)

        await asyncio.gather(collect(), call_until_traced())
        assert len(events) == 3
        assert all(event.pid is snapshot_pid for event in events)
        assert {event.kind for event in events} <= {"in", "call", "reply"}
        assert any("'ping'" in event.message for event in events)


# -- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        ((b"this is not json\n",), "bad_request"),
        ((b"[1, 2, 3]\n",), "bad_request"),
        ((b"[" * 100_000 + b"\n",), "bad_request"),
        ((b'{"op": "hello"}\n',), "bad_request"),
        ((b'{"id": 1, "op": "snapshot"}\n',), "hello_first"),
        ((HELLO, b'{"id": 2, "op": "format_disk"}\n'), "unknown_op"),
        ((HELLO, b'{"id": 2, "op": "snapshot", "since": "yesterday"}\n'), "bad_request"),
        ((HELLO, b'{"id": 2, "op": "kill", "target": 42}\n'), "bad_request"),
        ((b'{"id": 1, "op": "hello", "version": 999}\n',), "version"),
        ((b'{"id": 1, "op": "hello"}\n',), "version"),
        ((b"x" * (wire.MAX_REQUEST_LINE + 10) + b"\n",), "too_long"),
    ],
    ids=["not-json", "not-an-object", "too-deep", "no-id", "before-hello", "unknown-op", "bad-field", "bad-target",
         "other-version", "no-version", "huge-line"],
)
async def test_garbage_closes_only_that_connection(xdg: Path, lines: tuple[bytes, ...], kind: str) -> None:
    async with served(control=True) as (rt, _, endpoint), connect(os.getpid()) as bystander:
        answers = await raw_lines(endpoint.path, *lines, HELLO)  # the HELLO after it is never answered
        assert answers[-1]["error"]["kind"] == kind, answers
        assert answers[-1]["error"]["message"]
        assert len([answer for answer in answers if "error" in answer]) == 1
        assert (await bystander.hello())["processes"] == len(rt.processes())
        async with connect(os.getpid()) as newcomer:
            assert (await newcomer.snapshot()).root is not None


async def test_a_client_refuses_an_endpoint_of_another_version(xdg: Path) -> None:
    path = xdg / "other.sock"

    async def other_version(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = json.loads(await reader.readline())
        writer.write(wire.encode(wire.ok(request["id"], {"version": 999, "os_pid": 1})))
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(other_version, str(path))
    async with server:
        with pytest.raises(Unreachable, match=r"wire version 999, this client 1"):
            async with connect(path):
                pass


async def test_no_endpoint_is_unreachable_with_a_reason(xdg: Path) -> None:
    with pytest.raises(Unreachable, match=r"OS process \d+ has no observer endpoint"):
        async with connect(os.getpid()):
            pass
    with pytest.raises(Unreachable, match="no endpoint at"):
        async with connect(xdg / "missing.sock"):
            pass
    with pytest.raises(Unreachable, match="not an OS pid, a socket path or host:port"):
        async with connect(""):
            pass


# -- TCP, tokens, the socket's life -------------------------------------------------------------------------------


async def test_tcp_needs_the_token_it_wrote_next_to_the_socket(xdg: Path) -> None:
    async with served(tcp=("127.0.0.1", 0)) as (_, _, endpoint):
        assert endpoint.address is not None and endpoint.address[1] > 0 and endpoint.token is not None
        assert endpoint.token_path == endpoint.path.with_suffix(".token")
        assert stat.S_IMODE(endpoint.token_path.stat().st_mode) == 0o600
        assert endpoint.token_path.read_text().strip() == endpoint.token
        where = f"127.0.0.1:{endpoint.address[1]}"
        async with connect(where, token=endpoint.token) as conn:
            assert (await conn.hello())["tcp"] == where
        with pytest.raises(Unreachable, match="bad token"):
            async with connect(where, token="guess"):
                pass
        with pytest.raises(Unreachable, match="needs its token"):
            async with connect(where):
                pass
        async with connect(os.getpid()) as local:  # the Unix socket needs no token
            assert (await local.hello())["control"] is False
    assert not endpoint.token_path.exists() and not endpoint.path.exists()


async def test_tcp_beyond_loopback_needs_an_explicit_token(xdg: Path) -> None:
    async with Runtime() as rt:
        with pytest.raises(EndpointError, match="needs an explicit token"):
            serve(rt, tcp=("0.0.0.0", 0))
        with pytest.raises(EndpointError, match="port"):
            serve(rt, tcp=("127.0.0.1", 70000))
        with pytest.raises(EndpointError, match="stall_threshold"):
            serve(rt, stall_threshold=0)


async def test_the_socket_is_0600_in_a_0700_directory_and_goes_with_the_block(xdg: Path) -> None:
    async with served() as (_, _, endpoint):
        assert stat.S_IMODE(endpoint.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(endpoint.path.parent.stat().st_mode) == 0o700
        assert stat.S_ISSOCK(endpoint.path.stat().st_mode)
    assert not endpoint.path.exists()


async def test_a_second_endpoint_on_a_taken_socket_is_refused(xdg: Path) -> None:
    async with served() as (rt, _, endpoint):
        with pytest.raises(EndpointError, match="in use by a live endpoint"):
            async with serve(rt):
                pass
        assert endpoint.path.exists()


async def test_a_stale_socket_at_the_path_is_replaced(xdg: Path) -> None:
    import socket

    path = socket_path(os.getpid())
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays; nobody listens
    async with served() as (_, _, endpoint), connect(os.getpid()) as conn:
        assert endpoint.path == path and (await conn.hello())["os_pid"] == os.getpid()


@pytest.mark.parametrize("problem", ["open", "foreign"])
async def test_an_unsafe_socket_directory_is_refused(xdg: Path, problem: str) -> None:
    directory = xdg / "observer"
    directory.mkdir(mode=0o700)
    if problem == "open":
        directory.chmod(0o755)
        expected = "mode 0755; it must be 0700"
    else:
        if os.getuid() != 0:
            pytest.skip("giving a directory to another uid needs root")
        os.chown(directory, 65534, 65534)
        expected = "belongs to uid 65534"
    async with Runtime() as rt:
        with pytest.raises(EndpointError, match=expected):
            async with serve(rt):
                pass
    with pytest.raises(Unreachable, match=expected):
        async with connect(os.getpid()):
            pass


async def test_the_process_table_on_request(xdg: Path) -> None:
    async with served() as (rt, _, _), connect(os.getpid()) as conn:
        assert (await conn.snapshot()).processes == ()
        snapshot = await conn.snapshot(table=True)
        assert len(snapshot.processes) == len(rt.processes())
        assert snapshot.root is not None and snapshot.processes[0].pid is snapshot.root.pid
        assert {row.name for row in snapshot.processes} >= {"app", "echo", "hog", "worker_1"}


async def test_suspend_and_resume_with_control(xdg: Path) -> None:
    from observer.runtime import CallTimeout

    async with served(control=True) as (rt, _, _), connect(os.getpid()) as conn:
        await conn.suspend("echo")
        with pytest.raises(CallTimeout):
            await rt.call("echo", "hello?", timeout=0.05)
        await conn.resume("echo")
        assert await rt.call("echo", "hello?") == "hello?"
        notes = [entry.text for entry in (await conn.snapshot()).log if isinstance(entry, LogNote)]
        echo = rt.whereis("echo")
        assert notes[-2:] == [f"remote: suspended echo {echo!r}", f"remote: resumed echo {echo!r}"]
