"""Every recipe in docs/recipes.md runs as the complete program it claims to be, and prints what its comments say.

Each test saves one recipe's code as a file in a directory of its own and runs it with this
interpreter (loopback only, every wait with a deadline); `test_every_recipe_is_run` fails when
a recipe is added without a test that runs it.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from .pages import example, examples, private_env, run_example, started

PAGE = "recipes.md"
OWNED_SOCKET = "A server that owns a socket"
POOL_START = "In the pool's own start"
POOL_SIBLING = "A `rest_for_one` sibling after the pool"
DUPLICATE_POOL = "A worker pool on a duplicate registry"
WEB_HANDLER = "The runtime in a web handler"
SHUTDOWN = "Graceful shutdown on SIGTERM"
RUN = (OWNED_SOCKET, POOL_START, POOL_SIBLING, DUPLICATE_POOL, WEB_HANDLER, SHUTDOWN)
"""The headings whose example (one each) the tests below run."""


def test_every_recipe_is_run() -> None:
    found = {heading: len(blocks) for heading, blocks in examples(PAGE).items()}
    assert found == dict.fromkeys(RUN, 1), "a recipe without a test here (or a test of a recipe that is gone)"


def test_the_owned_socket_is_free_again_after_a_kill_and_its_client_is_hung_up_on(workdir: Path) -> None:
    """The killed server's client gets EOF; the restarted process answers on the same port."""
    assert run_example(example(PAGE, OWNED_SOCKET), workdir, "shouter.py") == [
        "<0.2.0> HELLO",
        "True",
        "<0.4.0> AGAIN",
    ]


def test_a_pool_filled_in_its_own_start_is_full_again_after_it_restarts(workdir: Path) -> None:
    assert run_example(example(PAGE, POOL_START), workdir, "pool.py") == [
        "3",
        "True 3",
        "worker 0 did a job",
    ]


def test_a_rest_for_one_filler_fills_the_restarted_pool(workdir: Path) -> None:
    assert run_example(example(PAGE, POOL_SIBLING), workdir, "filler.py") == [
        "3",
        "[('pool', <0.2.0>), ('filler', None)]",
        "3",
    ]


def test_the_duplicate_registry_pool_round_robins_broadcasts_and_survives_kills(workdir: Path) -> None:
    assert run_example(example(PAGE, DUPLICATE_POOL), workdir, "resizers.py") == [
        "['worker 0 resized 0.png', 'worker 1 resized 1.png', 'worker 2 resized 2.png', 'worker 0 resized 3.png']",
        "[2, 1, 1]",
        "3",
        "[0, 0, 0]",
        "[0, 2, 1]",
        "[0, 1, 2] True",
    ]


def test_the_web_handler_calls_through_the_runtime_and_answers_503_while_the_server_is_down(workdir: Path) -> None:
    assert run_example(example(PAGE, WEB_HANDLER), workdir, "web.py") == [
        "200 OK: 1 hits",
        "200 OK: 2 hits",
        "503 Service Unavailable: counter unavailable: CallExit",
        "200 OK: 1 hits",
    ]


def test_the_web_handler_gets_the_runtime_passed_in_not_from_a_global() -> None:
    code = example(PAGE, WEB_HANDLER)
    assert "functools.partial(handle, rt)" in code
    assert "global " not in code


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_the_tree_in_reverse_order_with_terminate_and_exit_0(
        workdir: Path, signal_number: signal.Signals) -> None:
    """After `ready`, the signal: the worker (started last) stops first, the journal flushes, the program exits 0."""
    (workdir / "service.py").write_text(example(PAGE, SHUTDOWN))
    async with started([sys.executable, "service.py"], workdir, private_env(workdir / "run")) as service:
        assert service.first_line == "ready"
        status, lines = await service.stop(signal_number)
    assert (status, lines) == (0, [
        "stopping",
        "worker: stopped (shutdown)",
        "journal: flushed 2 lines (shutdown)",
        "stopped",
    ])
