"""`observer drill`: list drills, run them headless, report for people, JSON or JUnit."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path

from observer.drills.builtin import BUILTIN_DRILLS, Drill, find_drill
from observer.drills.files import load_drills
from observer.drills.report import DrillReport, to_junit
from observer.drills.runner import DRILL_TIMEOUT, START_TIMEOUT, run_all
from observer.drills.toml_drill import DrillFileError
from observer.loop_alarm import DrillBlocked, LoopBlocked
from observer.targets import Factory, TargetError, load_factory

from .logs import open_log, routed_to
from .parsing import OneLineParser, add_token_options, resolve_token, seconds

PROG = "observer drill"
INTERRUPTED = 130
"""The exit status after Ctrl-C, as a shell reports a command killed by SIGINT (128 + 2)."""


def main(argv: list[str]) -> int:
    """Run `observer drill` with `argv` (the arguments after `drill`).

    Returns:
        0 when every drill passed, 1 when one failed (or the tree stopped the run), 2 after bad
        input found before the run, 130 after Ctrl-C.

    Raises:
        SystemExit: With status 0 after ``--help``, 2 after a usage error.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    chosen = sum(bool(choice) for choice in (args.list, args.all, args.name, args.file))
    if chosen != 1:
        parser.error("give exactly one of NAME, --all, --file or --list")
    if args.app is not None and not args.file:
        parser.error("--app needs --file (the built-in drills run on the default system)")
    if args.attach is not None and not args.file:
        parser.error("--attach needs --file (the built-in drills need the default system in this process)")
    if args.attach is not None and args.app is not None:
        parser.error("--attach and --app exclude each other: drill a running service, or start a tree here")
    if (args.token is not None or args.token_file is not None) and args.attach is None:
        parser.error("--token and --token-file need --attach")
    if args.list:
        _list(as_json=args.json)
        return 0
    try:
        drills = _chosen_drills(args)
        factory = None if args.app is None else load_factory(args.app)
        log = open_log(args.log)
    except (DrillFileError, TargetError) as error:
        return _error(str(error))
    except OSError as error:
        return _error(f"cannot write the log {args.log}: {error.strerror}")
    with routed_to(log):  # the crash reports of the faults a drill injects go to --log, never raw to stderr
        if args.attach is not None:
            reports = _run_attached(drills, args.attach, resolve_token(parser, args), args.timeout)
        else:
            reports = _run(drills, factory, args.start_timeout, args.timeout)
        # A process that ended by a BaseException (SystemExit, LoopBlocked) leaves its task's error
        # unretrieved, and asyncio reports that when the task is collected: collect now, while the
        # report still goes where --log says (the exception that held the task is gone by now).
        gc.collect()
    if isinstance(reports, int):
        return reports
    if args.junit:
        try:
            Path(args.junit).write_text(to_junit(reports), encoding="utf-8")
        except OSError as error:
            return _error(f"cannot write {args.junit}: {error.strerror}")
    _print(reports, as_json=args.json, verbose=args.verbose)
    return 0 if all(report.passed for report in reports) else 1


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Run kill-and-observe drills headless. Exit status: 0 all passed, 1 a drill failed, "
        "2 bad usage, 130 interrupted.",
    )
    parser.add_argument("name", nargs="?", help="a built-in drill to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the built-in drills, one a line")
    parser.add_argument("--all", action="store_true", help="run every built-in drill")
    parser.add_argument("--file", metavar="DRILLS", help="run a drill file: TOML, or Python with drill_* functions "
                        "(see examples/)")
    parser.add_argument("--app", metavar="MODULE:FACTORY", help="run against your tree instead of the default system")
    parser.add_argument("--attach", metavar="TARGET", help="run the drill file against a running service "
                        "(an OS pid, a socket path, or HOST:PORT with --token; it needs control)")
    add_token_options(parser)
    parser.add_argument(
        "--start-timeout",
        metavar="SECONDS",
        type=seconds,
        default=START_TIMEOUT,
        help=f"how long the tree may take to start, even if it blocks the event loop (default {START_TIMEOUT:g})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=seconds,
        default=DRILL_TIMEOUT,
        help=f"how long one drill may run once its tree is up (default {DRILL_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout (with --list too)")
    parser.add_argument("--junit", metavar="PATH", help="also write a JUnit XML report to PATH")
    parser.add_argument("--log", metavar="PATH", help="append the runtime's log (crash reports) to PATH")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every step and expectation")
    return parser


def _run(
    drills: list[Drill], factory: Factory | None, start_timeout: float, timeout: float
) -> list[DrillReport] | int:
    """Run the drills in a fresh event loop; their reports, or the exit status of a run that was stopped."""
    try:
        return asyncio.run(run_all(drills, factory, start_timeout=start_timeout, timeout=timeout))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as exit:  # raised in the user's tree: the event loop lets it through
        return _error(f"the tree raised SystemExit({exit.code!r}): the drill stopped (a process must not "
                      "exit the interpreter)", status=1)
    except DrillBlocked:  # raised into a process of the tree that held the loop while a drill ran
        return _error(f"the event loop was held for over {timeout:g} s while a drill ran (a blocking call in "
                      "async code?): the drills stopped", status=1)
    except LoopBlocked:  # the loop alarm found the loop idle: the factory would not stop when cancelled
        return _error(f"the tree did not start within {start_timeout:g} s, and its factory would not stop "
                      "when cancelled", status=1)


def _run_attached(drills: list[Drill], target: str, token: str | None, timeout: float) -> list[DrillReport] | int:
    """Run the drills against the service at `target`; their reports, or the exit status of a run that could not."""
    from observer.drills.attached import run_attached  # observer.remote only when attaching
    from observer.remote import ReadOnly, Unreachable

    try:
        return asyncio.run(run_attached(drills, target, token=token, timeout=timeout))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except (Unreachable, ReadOnly) as error:
        return _error(str(error), status=1)


def _list(*, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"name": drill.name, "description": drill.description} for drill in BUILTIN_DRILLS],
                         indent=2))
        return
    width = max(len(drill.name) for drill in BUILTIN_DRILLS)
    for drill in BUILTIN_DRILLS:
        print(f"{drill.name:<{width}}  {drill.description}")


def _error(message: str, *, status: int = 2) -> int:
    """Print `observer drill: error: <message>` on stderr; returns `status`."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _chosen_drills(args: argparse.Namespace) -> list[Drill]:
    if args.all:
        return list(BUILTIN_DRILLS)
    if args.file:
        return load_drills(args.file)
    drill = find_drill(args.name)
    if drill is None:
        names = ", ".join(drill.name for drill in BUILTIN_DRILLS)
        raise DrillFileError(f"no built-in drill {args.name!r} (drills: {names})")
    return [drill]


def _print(reports: list[DrillReport], *, as_json: bool, verbose: bool) -> None:
    passed = sum(report.passed for report in reports)
    failed = len(reports) - passed
    if as_json:
        document = {"drills": [report.to_json() for report in reports], "passed": passed, "failed": failed}
        print(json.dumps(document, indent=2))
        return
    for report in reports:
        print(report.render(verbose=verbose))
    print(f"{passed} passed, {failed} failed")
