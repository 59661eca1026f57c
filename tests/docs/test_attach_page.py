"""docs/attach.md: its service runs, is listed, drawn and read over the wire as shown, and its tables are complete.

The served main and the blocked-loop pair run as the files a reader would save, against a
private socket directory; the ops and error tables must list exactly what the wire module knows.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
from pathlib import Path

import pytest

from observer.remote import ReadOnly, connect, wire
from tests.subprocesses import observer_command

from .pages import DOCS, example, examples, finished, private_env, started

PAGE = "attach.md"
SERVE = "Publish the runtime: `serve()` in your main"
BLOCKED = "When the service's loop is blocked"


def section(heading: str) -> str:
    """The text of docs/attach.md under ``## heading``, up to the next such heading."""
    text = (DOCS / PAGE).read_text()
    assert f"\n## {heading}\n" in text, f"docs/{PAGE} has no section {heading!r}"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def table(heading: str, first_column: str) -> dict[str, str]:
    """The rows of the table under `heading` whose header starts with `first_column`: {name: second cell}.

    A first cell naming several (```a`, `b```) gives a row for each.
    """
    rows: dict[str, str] = {}
    inside = False
    for line in section(heading).splitlines():
        if line.startswith(f"| {first_column} |"):
            inside = True
        elif inside and line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = cells[1]
        elif inside and not line.startswith("|"):
            break
    return rows


def test_every_example_is_run() -> None:
    assert {heading: len(blocks) for heading, blocks in examples(PAGE).items()} == {SERVE: 1, BLOCKED: 2}


def test_the_ops_table_lists_every_op_and_which_need_control() -> None:
    ops = table("The wire", "op")
    assert set(ops) == set(wire.OPS)
    assert {op for op, control in ops.items() if control == "yes"} == set(wire.CONTROL_OPS)


def test_the_error_table_lists_every_kind_and_which_close_the_connection() -> None:
    kinds = table("The wire", "error kind")
    assert set(kinds) == {value for name, value in vars(wire).items() if name.startswith("E_")}
    assert {kind for kind, closes in kinds.items() if closes == "yes"} == set(wire.CLOSING_ERRORS)


def test_the_read_only_refusal_is_quoted_as_the_service_says_it() -> None:
    assert f"```text\n{ReadOnly('kill')}\n```" in section("Control is off by default")


async def test_the_served_main_is_listed_drawn_read_only_and_gone_after_sigterm(workdir: Path) -> None:
    env = private_env(workdir / "run")
    (workdir / "shop.py").write_text(example(PAGE, SERVE))
    async with started([sys.executable, "shop.py"], workdir, env) as shop:
        os_pid = shop.process.pid
        path = workdir / "run" / "observer" / f"{os_pid}.sock"
        assert shop.first_line == f"shop {os_pid}: observer attach {os_pid} ({path})"
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700

        status, out, err = await finished(observer_command("ps", "--json"), workdir, env)
        assert status == 0, err
        [row] = [row for row in json.loads(out) if row["os_pid"] == os_pid]
        assert (row["path"], row["processes"], row["control"]) == (str(path), 2, False)

        status, out, err = await finished(observer_command("tree", str(os_pid), "--json"), workdir, env)
        assert status == 0, err
        tree = json.loads(out)
        children = [child["id"] for child in tree["children"]]
        assert (tree["id"], tree["kind"], children) == ("shop", "supervisor", ["cart"])

        async with connect(path) as conn:
            assert not conn.control
            assert await conn.get_state("shop/cart") == {"items": [], "payment_token": "***"}
            with pytest.raises(ReadOnly) as refused:
                await conn.kill("cart")
            assert str(refused.value) == str(ReadOnly("kill"))

        status, rest = await shop.stop(signal.SIGTERM)
    assert (status, rest) == (0, [])
    assert not path.exists(), "the socket outlived the service"


async def test_the_wire_exchange_on_the_page_is_what_the_service_answers(workdir: Path) -> None:
    """Replay the page's requests (`>` lines) on the served main's socket; the answers are the page's `<` lines.

    The hello answer differs per run (pid, paths, times): there, the fields must be the page's.
    """
    exchange = re.search(r"```text\n(> \{.*?)```", section("The wire"), re.S)
    assert exchange is not None, "the wire section has no > / < exchange"
    lines = exchange.group(1).splitlines()
    requests = [line[2:] for line in lines if line.startswith("> ")]
    answers = [json.loads(line[2:]) for line in lines if line.startswith("< ")]
    assert len(requests) == len(answers) >= 3

    env = private_env(workdir / "run")
    (workdir / "shop.py").write_text(example(PAGE, SERVE))
    async with started([sys.executable, "shop.py"], workdir, env) as shop:
        path = workdir / "run" / "observer" / f"{shop.process.pid}.sock"
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(str(path))
            stream = client.makefile("rwb")
            got = []
            for request in requests:
                stream.write(request.encode() + b"\n")
                stream.flush()
                got.append(json.loads(stream.readline()))
        await shop.stop(signal.SIGTERM)
    assert set(got[0]["ok"]) == set(answers[0]["ok"])
    assert (got[0]["ok"]["version"], got[0]["ok"]["control"]) == (wire.VERSION, False)
    assert got[1:] == answers[1:]


async def test_the_same_file_runs_under_observer_run(workdir: Path) -> None:
    env = private_env(workdir / "run")
    (workdir / "shop.py").write_text(example(PAGE, SERVE))
    async with started(observer_command("run", "--app", "shop:build"), workdir, env) as service:
        path = workdir / "run" / "observer" / f"{service.process.pid}.sock"
        assert service.first_line == f"observer run: listening on {path} (read-only)"
        status, out, err = await finished(observer_command("tree", str(path)), workdir, env)
        assert status == 0, err
        assert out.splitlines() == ["shop <0.1.0> supervisor one_for_one", "└── cart <0.2.0> server"]
        status, rest = await service.stop(signal.SIGTERM)
    assert (status, rest) == (0, [])
    assert not path.exists()


async def test_a_blocked_loop_is_answered_and_its_stall_located(workdir: Path) -> None:
    """peek.py blocks the service's loop for 1.5 s with one call and watches it meanwhile over another connection."""
    env = private_env(workdir / "run")
    (workdir / "slow.py").write_text(example(PAGE, BLOCKED, 0))
    (workdir / "peek.py").write_text(example(PAGE, BLOCKED, 1))
    async with started(observer_command("run", "--app", "slow:build", "--control"), workdir, env) as service:
        assert service.first_line.endswith("(control)")
        status, out, err = await finished([sys.executable, "peek.py", str(service.process.pid)], workdir, env)
        await service.stop(signal.SIGTERM)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["hello answers: the loop is blocked", "snapshot: Blocked", "report done after 1.5 s"]
    assert len(lines) == 4 and re.fullmatch(r"stall of 1\.\d s in \S+/slow\.py:11 in Report\.handle_call", lines[3]), \
        lines
