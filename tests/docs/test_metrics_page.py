"""docs/metrics.md: its examples run and print what they say, its table is the exported series, its CLI errors hold."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

import observer.metrics
from tests.subprocesses import observer_command

from .pages import DOCS, example, examples, finished, private_env, run_example

pytest.importorskip("prometheus_client", reason="the metrics page's examples need the [metrics] extra")

PAGE = "metrics.md"
REGISTER = "In a service that has a metrics server: `register`"
BLOCKED = "When the loop is blocked"


def test_every_example_is_run() -> None:
    assert {heading: len(blocks) for heading, blocks in examples(PAGE).items()} == {REGISTER: 2, BLOCKED: 1}


def test_the_table_lists_exactly_the_exported_series_in_scrape_order() -> None:
    documented = re.findall(r"^\| `(observer_\w+)` \|", (DOCS / PAGE).read_text(), re.M)
    assert tuple(documented) == observer.metrics.METRIC_NAMES


def test_register_adds_the_series_to_a_registry_of_the_services_own(workdir: Path) -> None:
    assert run_example(example(PAGE, REGISTER, 0), workdir, "registered.py") == ["1.0", "0.0"]


def test_serve_answers_a_scrape_over_loopback_http(workdir: Path) -> None:
    assert run_example(example(PAGE, REGISTER, 1), workdir, "served.py") == [
        "True",
        'observer_processes{kind="supervisor"} 1.0',
        "True",
    ]


def test_a_scrape_during_a_blocked_loop_has_the_lag_and_the_stall_only(workdir: Path) -> None:
    assert run_example(example(PAGE, BLOCKED), workdir, "blocked.py") == [
        "['observer_loop_lag_seconds', 'observer_stalls_total']",
        "True 1.0",
        "1.0 True",
    ]


TREE = """
from observer.runtime import Pid, Runtime, Server, Supervisor


class Idle(Server):
    pass


async def build(rt: Runtime) -> Pid:
    return await Supervisor.start_link(rt, [Idle.child_spec(id="idle")], name="tree")
"""


async def test_a_bad_metrics_address_is_one_usage_line_and_status_2(workdir: Path) -> None:
    (workdir / "tree.py").write_text(TREE)
    status, out, err = await finished(observer_command("run", "--app", "tree:build", "--metrics", "nonsense"),
                                      workdir, private_env(workdir / "run"))
    assert (status, out, len(err.splitlines())) == (2, "", 1)
    assert "--metrics" in err and "nonsense" in err


async def test_a_taken_metrics_port_is_one_line_and_status_1_with_nothing_left(workdir: Path) -> None:
    (workdir / "tree.py").write_text(TREE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = await finished(
            observer_command("run", "--app", "tree:build", "--metrics", f"127.0.0.1:{port}"),
            workdir, private_env(workdir / "run"))
    assert status == 1 and len(err.splitlines()) == 1 and f"127.0.0.1:{port}" in err, err
    assert list((workdir / "run" / "observer").iterdir()) == [], "the endpoint's socket was left behind"
