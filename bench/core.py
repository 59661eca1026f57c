"""The pieces every benchmark shares: Figure, Benchmark, Context and the timing helpers."""

from __future__ import annotations

import gc
import statistics
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REFERENCE_ROUND_TRIP_US = 5.3
"""The asyncio.Queue round trip on the machine where DESIGN.md's µs targets were set (section 8)."""


def reference_ratio(target_us: float) -> float:
    """A µs target of DESIGN.md as a ratio to the asyncio round trip, so any machine can be judged by it."""
    return target_us / REFERENCE_ROUND_TRIP_US


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, as a row of the table.

    `value` is the median over the repeats and `best` the best repeat (the
    minimum of a time or a size, the maximum of a rate). `ok` is None when the
    figure has no target.
    """

    name: str
    value: float
    unit: str
    best: float | None = None
    ratio: float | None = None  # to an asyncio.Queue round trip timed alongside (see `repeat`)
    target: str = ""
    ok: bool | None = None
    detail: str = ""  # how it was measured: sizes, repeats, garbage collector


@dataclass(frozen=True, slots=True)
class Context:
    """What a benchmark is told: a quick run or a full one."""

    quick: bool

    def size(self, full: int, quick: int) -> int:
        """`full` for a full run, `quick` for `--quick`."""
        return quick if self.quick else full


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A named async function that measures one figure."""

    name: str
    run: Callable[[Context], Coroutine[Any, Any, Figure]]


@dataclass(frozen=True, slots=True)
class Sample:
    """Repeated measurements of a lower-is-better quantity (a time or a size)."""

    median: float
    best: float
    repeats: int
    ratio: float | None = None  # median of the paired ratios, when measured `against` a baseline


async def repeat(
    measure: Callable[[], Awaitable[float]],
    *,
    repeats: int,
    warmup: int = 1,
    against: Callable[[], Awaitable[float]] | None = None,
) -> Sample:
    """Run `measure` `warmup` times unrecorded, then `repeats` times; the median and minimum of its results.

    With `against` (a baseline in the same unit), each recorded `measure` is
    paired with an `against` timed just before it, and the ratio is the median
    of the per-pair ratios: on a shared 2-core machine, phases of contention
    lasting seconds would skew a ratio of two figures measured seconds apart.
    """
    for _ in range(warmup):
        await measure()
    values: list[float] = []
    ratios: list[float] = []
    for _ in range(repeats):
        base = None if against is None else await against()
        values.append(await measure())
        if base is not None:
            ratios.append(values[-1] / base)
    return Sample(statistics.median(values), min(values), repeats, statistics.median(ratios) if ratios else None)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the cyclic garbage collector off for the block (steady-state figures only)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

