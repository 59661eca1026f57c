"""`python -m bench [--quick] [--only NAME ...] [--json] [--list]`: run the benchmarks and print a table."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import importlib
import importlib.util
import json
import logging
import os
import platform
import sys
from collections.abc import Sequence
from time import perf_counter

from .baseline import BASELINE
from .core import Benchmark, Context, Figure

# Modules holding a `BENCHMARKS` tuple, in table order; those not written yet are skipped.
MODULES = (
    "bench.runtime_bench", "bench.supervisor_bench", "bench.services_bench", "bench.app_bench", "bench.remote_bench",
)
COLUMNS = ("figure", "value", "ratio to asyncio round trip", "target", "ok")
RATIO_NOTE = (
    "ratio: per-operation time over an asyncio.Queue round trip (1,000 of them) timed just before each repeat "
    "in the same loop; the median of those per-repeat ratios (robust to phases of CPU contention)"
)


def discover() -> tuple[Benchmark, ...]:
    """The baseline, then every benchmark of the modules in `MODULES` that exist."""
    found = [BASELINE]
    for module_name in MODULES:
        if importlib.util.find_spec(module_name) is not None:
            found.extend(importlib.import_module(module_name).BENCHMARKS)
    return tuple(found)


def number(value: float) -> str:
    """Three significant digits, thousands separated."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:#.3g}"


def row(figure: Figure) -> tuple[str, ...]:
    """A figure as the cells of one table row."""
    value = f"{number(figure.value)} {figure.unit}"
    if figure.best is not None and figure.best != figure.value:
        value += f" (best {number(figure.best)})"
    ratio = "—" if figure.ratio is None else f"{figure.ratio:.2f}×"
    ok = "" if figure.ok is None else "ok" if figure.ok else "MISSED"
    return figure.name, value, ratio, figure.target or "—", ok


def table(figures: Sequence[Figure]) -> str:
    """The figures as an aligned text table, then how each one was measured."""
    rows = [COLUMNS, *(row(figure) for figure in figures)]
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(COLUMNS))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() for cells in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    lines.append("")
    lines.extend(f"  {figure.name}: {figure.detail}" for figure in figures if figure.detail)
    lines.append(f"  {RATIO_NOTE}")
    return "\n".join(lines)


def run(benchmarks: Sequence[Benchmark], *, quick: bool, progress: bool) -> list[Figure]:
    """Run the baseline, then `benchmarks`, each on a fresh event loop; their figures in order."""
    figures: list[Figure] = []
    ctx = Context(quick)
    for benchmark in (BASELINE, *(b for b in benchmarks if b is not BASELINE)):
        gc.collect()
        began = perf_counter()
        figure = asyncio.run(benchmark.run(ctx))
        if progress:
            print(f"bench: {benchmark.name} done in {perf_counter() - began:.1f} s", file=sys.stderr)
        figures.append(figure)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print; 0 even when a target is missed (this measures, it does not test)."""
    benchmarks = discover()
    names = [benchmark.name for benchmark in benchmarks]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (well under 20 s)")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=names, help="run only these (the baseline always runs)"
    )
    parser.add_argument("--json", action="store_true", help="print only JSON")
    parser.add_argument("--list", action="store_true", help="list the benchmark names and exit")
    args = parser.parse_args(argv)
    # Supervisor reports (observer.supervisor, observer.crash) would print a line per restart: the
    # benchmarks measure the runtime, not a terminal's logging.
    logging.getLogger("observer").setLevel(logging.CRITICAL)
    if args.list:
        print("\n".join(names))
        return 0
    selected = [b for b in benchmarks if args.only is None or b.name in args.only]
    if not args.json:
        mode = "quick" if args.quick else "full"
        print(f"observer bench ({mode}): Python {platform.python_version()}, asyncio default loop, "
              f"{os.cpu_count()} cpus, {platform.machine()}")
    began = perf_counter()
    figures = run(selected, quick=args.quick, progress=not args.json)
    missed = [figure.name for figure in figures if figure.ok is False]
    if args.json:
        print(json.dumps({
            "quick": args.quick,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "ratio": RATIO_NOTE,
            "figures": [dataclasses.asdict(figure) for figure in figures],
            "missed": missed,
        }, indent=2, ensure_ascii=False))
        return 0
    print(table(figures))
    print()
    if missed:
        print(f"MISSED {len(missed)} target(s): {'; '.join(missed)}")
    else:
        print(f"all targets met ({sum(figure.ok is not None for figure in figures)} with a target)")
    print(f"total {perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
