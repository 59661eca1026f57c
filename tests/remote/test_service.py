"""Real services: `observer run` in a subprocess, attached to over its real socket by `connect` and the CLI.

Readiness is the line `observer run` prints once it listens; the blocking server prints ``blocking``
and ``unblocked`` around its block. No test sleeps to let something happen.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import stat
import time
from pathlib import Path

import pytest

from observer.remote import Blocked, ReadOnly, Unreachable, connect
from observer.runtime import NoProc
from observer.snapshot import NodeSnapshot, Snapshot
from tests.subprocesses import DEADLINE

from .conftest import cli, running
from .trees import LONG_BLOCK, SHORT_BLOCK


def node(snapshot: Snapshot, *path: str) -> NodeSnapshot:
    """The node at a path of labels below the root."""
    found = snapshot.root
    assert found is not None
    for label in path:
        found = next(child for child in found.children if child.label == label)
    return found


async def until_restarted(conn: object, *path: str) -> NodeSnapshot:
    """Take snapshots until the node at `path` has been restarted (each one is a round trip to the service)."""
    assert hasattr(conn, "snapshot")
    async with asyncio.timeout(DEADLINE):
        while (found := node(await conn.snapshot(), *path)).restarts == 0 or found.status != "running":
            pass
    return found


# -- observing ----------------------------------------------------------------------------------------------


async def test_tree_through_the_cli_and_connect(xdg: Path) -> None:
    async with running() as service:
        status, out, err = await cli("tree", str(service.os_pid), "--json")
        assert (status, err) == (0, "")
        tree = json.loads(out)
        assert tree["id"] == "app" and tree["kind"] == "supervisor" and tree["status"] == "running"
        assert [child["id"] for child in tree["children"]] == ["echo", "hog", "pool", "scratch"]
        assert [child["id"] for child in tree["children"][2]["children"]] == ["worker_1", "worker_2", "worker_3"]
        assert set(tree) >= {"id", "pid", "kind", "status", "restarts", "children"}
        status, out, _ = await cli("tree", str(service.path))
        assert status == 0
        assert out.splitlines()[:4] == [
            f"app {tree['pid']} supervisor one_for_one",
            f"├── echo {tree['children'][0]['pid']} server",
            f"├── hog {tree['children'][1]['pid']} server",
            f"├── pool {tree['children'][2]['pid']} supervisor one_for_one",
        ]
        async with connect(service.os_pid) as conn:
            snapshot = await conn.snapshot()
            assert str(node(snapshot, "pool", "worker_2").pid) == tree["children"][2]["children"][1]["pid"]
            hello = await conn.hello()
            assert hello["os_pid"] == service.os_pid and hello["control"] is False
            assert hello["argv"][1:4] == ["run", "--app", "tests.remote.trees:factory"]
            assert hello["processes"] == snapshot.process_count == 8


async def test_ps_lists_the_service_and_removes_stale_sockets(xdg: Path) -> None:
    async with running("--control") as service:
        dead = await asyncio.create_subprocess_exec("true")
        await dead.wait()
        stale = service.path.parent / f"{dead.pid}.sock"
        left = socket.socket(socket.AF_UNIX)
        left.bind(str(stale))
        left.close()
        status, out, err = await cli("ps", "--json")
        assert (status, err) == (0, "")
        (row,) = json.loads(out)
        assert row["os_pid"] == service.os_pid and row["path"] == str(service.path)
        assert row["control"] is True and row["processes"] == 8 and row["argv"][1] == "run"
        assert not stale.exists()
        status, out, _ = await cli("ps")
        header, line = out.splitlines()
        assert header.split() == ["OS", "PID", "PROGRAM", "UPTIME", "PROCESSES", "CONTROL", "LOOP"]
        assert line.split()[:5] == [str(service.os_pid), "observer", "run", "--app", "tests.remote.trees:factory"]
        assert line.split()[-3:] == ["8", "control", "ok"]


# -- control ----------------------------------------------------------------------------------------------------


async def test_kill_and_restart_with_control(xdg: Path) -> None:
    async with running("--control") as service, connect(service.os_pid) as conn:
        before = node(await conn.snapshot(), "pool", "worker_2")
        await conn.kill("worker_2")
        after = await until_restarted(conn, "pool", "worker_2")
        assert after.pid is not before.pid and after.previous_pid is before.pid and after.restarts == 1
        await conn.terminate("app/scratch")
        assert node(await conn.snapshot(), "scratch").status == "stopped"
        restarted = await conn.restart("app/scratch")
        assert restarted is node(await conn.snapshot(), "scratch").pid
        with pytest.raises(NoProc):
            await conn.kill("no_such_name")


async def test_without_control_the_service_is_read_only(xdg: Path) -> None:
    async with running() as service, connect(service.os_pid) as conn:
        with pytest.raises(ReadOnly, match="observer run --control"):
            await conn.kill("echo")
        with pytest.raises(ReadOnly):
            await conn.restart("app/scratch")
        assert node(await conn.snapshot(), "echo").restarts == 0


# -- a blocked loop ---------------------------------------------------------------------------------------------


async def test_a_stall_is_recorded_with_the_blocking_function_and_the_process(xdg: Path) -> None:
    async with running() as service, connect(service.os_pid) as conn:
        hog = node(await conn.snapshot(), "hog").pid
        service.process.send_signal(signal.SIGUSR1)
        await service.wait_for_line("blocking")
        await service.wait_for_line("unblocked")
        (stall,) = await conn.stalls()
        assert not stall.ongoing
        assert 0.25 <= stall.seconds <= SHORT_BLOCK + 0.1
        assert stall.stack[0].endswith(" in hog_the_loop") and "trees.py:" in stall.stack[0]
        assert any(" in Hog.handle_cast" in line for line in stall.stack)
        assert stall.pid is hog and stall.task is not None and stall.task.startswith(f"{hog!r} ")
        assert abs(stall.began - time.time()) < DEADLINE
        notes = [entry.text for entry in (await conn.snapshot()).log if hasattr(entry, "text")]
        assert any(text.startswith("loop blocked 0.") and "hog_the_loop" in text for text in notes)


async def test_hello_answers_while_the_loop_is_blocked(xdg: Path) -> None:
    async with running() as service, connect(service.os_pid) as conn:
        service.process.send_signal(signal.SIGUSR2)
        await service.wait_for_line("blocking")
        began = time.monotonic()
        hello = await conn.hello()
        answered = time.monotonic() - began
        assert hello["loop_blocked"] > 0
        assert answered <= 0.1 < LONG_BLOCK  # the contract: hello in 100 ms during a 1 s block
        async with asyncio.timeout(LONG_BLOCK):  # the stall shows while it lasts ...
            while not (stalls := await conn.stalls()) or not stalls[-1].ongoing:
                pass
        assert stalls[-1].stack[0].endswith(" in hog_the_loop")
        with pytest.raises(Blocked, match="blocked"):  # ... and a snapshot says so at once
            await conn.snapshot()
        await service.wait_for_line("unblocked")
        (stall,) = await conn.stalls()
        assert not stall.ongoing and stall.seconds >= LONG_BLOCK - 0.1
        assert (await conn.hello())["loop_blocked"] == 0.0
        assert (await conn.snapshot()).root is not None


# -- ends -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_the_tree_in_order_and_removes_the_socket(xdg: Path, signal_number: int) -> None:
    async with running() as service:
        assert service.path.exists()
        assert await service.stop(signal_number) == 0
        assert not service.path.exists()
        assert service.process.stderr is not None
        assert await service.process.stderr.read() == b""


async def test_a_service_that_exits_mid_session_is_unreachable(xdg: Path) -> None:
    async with running() as service, connect(service.os_pid) as conn:
        await conn.hello()
        service.process.kill()
        await service.process.wait()
        with pytest.raises(Unreachable, match="closed the connection"):
            await conn.snapshot()
        assert service.path.exists()  # a killed service leaves its socket: stale
        status, out, err = await cli("ps", "--json")
        assert (status, json.loads(out)) == (0, [])
        assert not service.path.exists()
        status, _, err = await cli("tree", str(service.os_pid))
        assert status == 1 and err == f"observer tree: error: no OS process {service.os_pid}\n"


@pytest.mark.skipif(os.getuid() != 0 or shutil.which("python3", path="/usr/bin") is None,
                    reason="connecting as another uid needs root (and a system python3 for uid 65534)")
async def test_a_peer_of_another_uid_is_refused(xdg: Path) -> None:
    xdg.chmod(0o755)  # reachable by anyone, as a misconfigured socket would be ...
    path = xdg / "open.sock"
    async with running("--socket", str(path)) as service:
        path.chmod(0o666)  # ... so that only the peer-credential check stands in the way
        client = (
            "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
            "s.sendall(b'{\"id\": 1, \"op\": \"hello\", \"version\": 1}\\n'); print(s.makefile().readline(), end='')"
        )
        process = await asyncio.create_subprocess_exec("/usr/bin/python3", "-c", client, str(path), user=65534,
                                                       stdout=asyncio.subprocess.PIPE, cwd="/")
        async with asyncio.timeout(DEADLINE):
            out, _ = await process.communicate()
        answer = json.loads(out)
        assert answer["error"]["kind"] == "refused"
        assert answer["error"]["message"] == "peer uid 65534 refused: this endpoint serves uid 0 only"
        async with connect(path) as conn:  # the service is fine, and serves its own uid
            assert (await conn.hello())["os_pid"] == service.os_pid


# -- TCP and bad input ------------------------------------------------------------------------------------------


async def test_tcp_with_the_token_file(xdg: Path) -> None:
    async with running("--tcp", "127.0.0.1:0") as service:
        words = service.first_line.split()
        where = words[words.index("tcp") + 1].rstrip(",")
        token_file = Path(words[words.index("in") + 1])
        assert token_file == service.path.with_suffix(".token")
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        status, out, _ = await cli("tree", where, "--token-file", str(token_file))
        assert status == 0 and out.startswith("app <0.1.0> supervisor one_for_one\n")
        wrong = xdg / "wrong.token"
        wrong.write_text("guess\n")
        status, _, err = await cli("tree", where, "--token-file", str(wrong))
        assert status == 1 and err == f"observer tree: error: {where}: bad token: TCP needs the endpoint's token\n"
        status, _, err = await cli("tree", where)
        assert status == 1 and err.count("\n") == 1 and "needs its token" in err
        assert await service.stop() == 0
    assert not token_file.exists()


@pytest.mark.parametrize(("args", "status", "message"), [
    (["tree", "424242"], 1, "observer tree: error: no OS process 424242"),
    (["tree", "/nowhere/x.sock"], 1, "observer tree: error: no endpoint at /nowhere/x.sock"),
    (["tree", "127.0.0.1:1", "--token-file", "/dev/null"], 1, "observer tree: error: 127.0.0.1:1: refused"),
    (["tree"], 2, "observer tree: error: the following arguments are required: TARGET"),
    (["tree", "1", "--token-file", "/nowhere"], 2, "observer tree: error: --token-file /nowhere: No such file"),
    (["ps", "extra"], 2, "observer ps: error: unrecognized arguments: extra"),
    (["run"], 2, "observer run: error: the following arguments are required: --app"),
    (["run", "--app", "tests.remote.trees:factory", "--tcp", "nowhere"], 2, "observer run: error: argument --tcp"),
    (["run", "--app", "tests.remote.trees:nothing"], 2, "observer run: error: --app tests.remote.trees:nothing"),
    (["run", "--app", "tests.remote.trees:failing"], 1,
     "observer run: error: the tree did not start: RuntimeError: no database"),
    (["run", "--app", "tests.remote.trees:factory", "--tcp", "0.0.0.0:0"], 1,
     "observer run: error: refusing TCP on 0.0.0.0: a host other than loopback needs an explicit token="),
])
async def test_bad_input_is_one_line_and_the_right_status(xdg: Path, args: list[str], status: int,
                                                          message: str) -> None:
    got, out, err = await cli(*args)
    assert got == status and out == ""
    assert err.count("\n") == 1 and err.startswith(message), err


async def test_stale_services_never_hang_the_cli(xdg: Path) -> None:
    """A socket whose service was killed (SIGKILL: no cleanup) is refused at once, not waited on."""
    async with running() as service:
        service.process.kill()
        await service.process.wait()
        status, _, err = await cli("tree", str(service.path))
        assert status == 1 and "refused: nobody listens there" in err

