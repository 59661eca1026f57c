"""`observer drill`: list drills, run them headless, report for people, JSON or JUnit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from observer.drills.builtin import BUILTIN_DRILLS, Drill, find_drill
from observer.drills.report import DrillReport, to_junit
from observer.drills.runner import run_all
from observer.drills.toml_drill import DrillFileError, load_drill_file
from observer.targets import TargetError, load_factory

from .parsing import OneLineParser


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog="observer drill",
        description="Run kill-and-observe drills headless. Exit status: 0 all passed, 1 a drill failed, 2 bad usage.",
    )
    parser.add_argument("name", nargs="?", help="a built-in drill to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the built-in drills, one a line")
    parser.add_argument("--all", action="store_true", help="run every built-in drill")
    parser.add_argument("--file", metavar="DRILL.toml", help="run a drill file (see examples/)")
    parser.add_argument("--app", metavar="MODULE:FACTORY", help="run against your tree instead of the default system")
    parser.add_argument("--json", action="store_true", help="print only a JSON report on stdout")
    parser.add_argument("--junit", metavar="PATH", help="also write a JUnit XML report to PATH")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every step and expectation")
    return parser


def main(argv: list[str]) -> int:
    """Run `observer drill` with `argv` (the arguments after `drill`); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    chosen = sum(bool(choice) for choice in (args.list, args.all, args.name, args.file))
    if chosen != 1:
        parser.error("give exactly one of NAME, --all, --file or --list")
    if args.app is not None and not args.file:
        parser.error("--app needs --file (the built-in drills run on the default system)")
    if args.list:
        width = max(len(drill.name) for drill in BUILTIN_DRILLS)
        for drill in BUILTIN_DRILLS:
            print(f"{drill.name:<{width}}  {drill.description}")
        return 0
    try:
        drills = _chosen_drills(args)
        factory = None if args.app is None else load_factory(args.app)
    except (DrillFileError, TargetError) as error:
        print(f"observer drill: error: {error}", file=sys.stderr)
        return 2
    logger = logging.getLogger("observer")
    level = logger.level
    if not args.verbose:
        logger.setLevel(logging.CRITICAL)  # crash reports of the faults we inject
    try:
        reports = asyncio.run(run_all(drills, factory))
    finally:
        logger.setLevel(level)
    if args.junit:
        try:
            Path(args.junit).write_text(to_junit(reports), encoding="utf-8")
        except OSError as error:
            print(f"observer drill: error: cannot write {args.junit}: {error.strerror}", file=sys.stderr)
            return 2
    _print(reports, as_json=args.json, verbose=args.verbose)
    return 0 if all(report.passed for report in reports) else 1


def _chosen_drills(args: argparse.Namespace) -> list[Drill]:
    if args.all:
        return list(BUILTIN_DRILLS)
    if args.file:
        return [load_drill_file(args.file)]
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
