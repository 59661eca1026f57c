"""Issue 11 figures: what attach costs the service, and how fast its endpoint answers (DESIGN.md section 8).

- `serve()` running with no client: call round trip and cast throughput, paired with and without;
- a `snapshot` of 10,000 processes, whole (a client's first), as the app asks for it (big supervisors folded);
- `hello` while the service's loop is blocked for 1 s (the client in a thread of its own);
- a client in another OS process refreshing at the default 0.25 s on 10,000 processes: the service's call
  round trip with it running and with it stopped (SIGSTOP), paired.

`python -m bench.remote_bench client SOCKET` is that client.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

from observer.remote import connect, serve
from observer.runtime import Caller, DynamicSupervisor, Pid, Runtime, Server, Supervisor

from .core import Benchmark, Context, Figure, gc_paused

PROCESSES = 10_000
REFRESH = 0.25
BLOCK = 1.0


class Echo(Server):
    """Answers every call with its request."""

    async def handle_call(self, request: Any, caller: Caller) -> Any:
        return request


class Counter(Server):
    """Counts casts; a call returns the count since the previous call."""

    async def init(self) -> None:
        self.count = 0

    async def handle_cast(self, request: Any) -> None:
        self.count += 1

    async def handle_call(self, request: Any, caller: Caller) -> int:
        count, self.count = self.count, 0
        return count


async def pool_tree(rt: Runtime, processes: int = PROCESSES) -> Pid:
    """A root supervisor over a DynamicSupervisor "pool" of idle servers: `processes` processes in all."""
    root = await Supervisor.start_link(rt, [DynamicSupervisor.child_spec("pool", name="pool")], name="root")
    assert root is not None
    pool = rt.whereis("pool")
    assert pool is not None
    for number in range(processes - 2):
        await DynamicSupervisor.start_child(rt, pool, Echo.child_spec(id=f"worker_{number}"))
    return root


@asynccontextmanager
async def socket_dir() -> AsyncIterator[Path]:
    """A private directory for the bench's sockets (removed afterwards)."""
    directory = Path(tempfile.mkdtemp(prefix="obsbench", dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _paired(
    without: Callable[[], Awaitable[float]], with_: Callable[[], Awaitable[float]], repeats: int
) -> tuple[float, float, float]:
    """Median of the per-pair ratios with/without, and the median figures; the order alternates per pair."""
    ratios, bases, withs = [], [], []
    for index in range(repeats):
        if index % 2:
            other = await with_()
            base = await without()
        else:
            base = await without()
            other = await with_()
        ratios.append(other / base)
        bases.append(base)
        withs.append(other)
    return statistics.median(ratios), statistics.median(bases), statistics.median(withs)


async def _calls(rt: Runtime, pid: Pid, seconds: float) -> float:
    """µs per call, over calls for about `seconds` (in batches, so that the clock is read rarely)."""
    call = rt.call
    count = 0
    with gc_paused():
        started = perf_counter()
        while (elapsed := perf_counter() - started) < seconds:
            for i in range(1_000):
                await call(pid, i)
            count += 1_000
    return elapsed / count * 1e6


async def serve_idle_call(ctx: Context) -> Figure:
    """The call round trip with `serve()` running and no client, over the one without."""
    seconds, repeats = ctx.size(400, 150) / 1000, ctx.size(15, 5)
    async with socket_dir() as directory, Runtime() as rt:
        pid = await Echo.start_link(rt)
        assert pid is not None

        async def served() -> float:
            async with serve(rt, path=directory / "idle.sock"):
                return await _calls(rt, pid, seconds)

        ratio, base, with_ = await _paired(lambda: _calls(rt, pid, seconds), served, repeats)
    return Figure(
        "serve() with no client: call round trip", ratio, "× without", target="≤ 1.03×", ok=ratio <= 1.03,
        detail=f"{repeats} pairs of {seconds:g} s of calls to an echo Server, without serve() ({base:.2f} µs) and "
        f"with it ({with_:.2f} µs), order alternating; median of the per-pair ratios; gc off",
    )


async def serve_idle_cast(ctx: Context) -> Figure:
    """Cast throughput with `serve()` running and no client, over the one without (as time per cast)."""
    n, repeats = ctx.size(200_000, 50_000), ctx.size(15, 5)
    async with socket_dir() as directory, Runtime() as rt:
        pid = await Counter.start_link(rt)
        assert pid is not None
        cast = rt.cast

        async def casts() -> float:
            with gc_paused():
                started = perf_counter()
                for i in range(n):
                    cast(pid, i)
                handled = await rt.call(pid, "count")
                elapsed = perf_counter() - started
            if handled != n:
                raise RuntimeError(f"the counter handled {handled} casts of {n}")
            return elapsed / n * 1e6

        async def served() -> float:
            async with serve(rt, path=directory / "idle.sock"):
                return await casts()

        ratio, base, with_ = await _paired(casts, served, repeats)
    return Figure(
        "serve() with no client: cast throughput", 1 / ratio, "× without", target="≥ 0.97×", ok=ratio <= 1.03,
        detail=f"{repeats} pairs of {n:,} casts then one call, without serve() ({1e6 / base:,.0f} msg/s) and with it "
        f"({1e6 / with_:,.0f} msg/s), order alternating; median of the per-pair ratios; gc off",
    )


async def snapshot_10k(ctx: Context) -> Figure:
    """ms for a whole `snapshot` (a client's first) of 10,000 processes, as the app asks (big supervisors folded)."""
    processes, repeats = ctx.size(PROCESSES, 2_000), ctx.size(15, 5)
    async with socket_dir() as directory, Runtime() as rt:
        await pool_tree(rt, processes)
        async with serve(rt, path=directory / "snap.sock") as endpoint:
            times, opened_times = [], []
            for _ in range(repeats):
                async with connect(endpoint.path) as conn:
                    began = perf_counter()
                    snapshot = await conn.snapshot()
                    times.append((perf_counter() - began) * 1e3)
                    assert snapshot.process_count == processes
            opened = frozenset({("root", "pool")})
            async with connect(endpoint.path) as conn:
                await conn.snapshot(opened=opened)  # the service's builder lists the pool once (its own cost)
            for _ in range(repeats):
                async with connect(endpoint.path) as conn:
                    began = perf_counter()
                    whole = await conn.snapshot(opened=opened)
                    opened_times.append((perf_counter() - began) * 1e3)
                    assert whole.root is not None and len(whole.root.children[0].children) == processes - 2
    median = statistics.median(times)
    return Figure(
        f"snapshot of {processes:,} processes, whole", median, "ms", best=min(times), target="≤ 20 ms",
        ok=median <= 20,
        detail=f"{repeats} first snapshots over new connections (the pool of {processes - 2:,} folded, as the app "
        f"shows it); with the pool opened (every node encoded, sent and rebuilt by the client): median "
        f"{statistics.median(opened_times):.1f} ms; the client on the service's own loop",
    )


async def hello_while_blocked(ctx: Context) -> Figure:
    """ms for `hello` while the service's loop is blocked for 1 s (asked 0.2 s into the block)."""
    repeats = ctx.size(7, 3)
    async with socket_dir() as directory, Runtime() as rt:
        async with serve(rt, path=directory / "blocked.sock") as endpoint:
            client = _BlockedHelloClient(endpoint.path, repeats)
            client.start()
            client.ready.wait(10)
            for _ in range(repeats):
                client.go.set()
                time.sleep(BLOCK)  # the service's loop, blocked
                client.answered.wait(10)
                client.answered.clear()
                await asyncio.sleep(0.2)  # the loop runs again between two blocks
            client.join()
    if client.error is not None:
        raise RuntimeError(f"the blocked-hello client failed: {client.error}")
    latencies = [seconds * 1e3 for seconds, _ in client.results]
    blocked = [loop_blocked for _, loop_blocked in client.results]
    median = statistics.median(latencies)
    return Figure(
        f"hello while the loop is blocked {BLOCK:g} s", median, "ms", best=min(latencies), target="≤ 100 ms",
        ok=median <= 100 and all(value > 0 for value in blocked),
        detail=f"{repeats} blocks (time.sleep on the service's loop); hello sent 0.2 s in, by a client in its own "
        f"thread and loop; it said loop_blocked {min(blocked):.2f}..{max(blocked):.2f} s",
    )


class _BlockedHelloClient:
    """A client in a thread of its own: on each `go` it waits 0.2 s, times a hello, and says `answered`."""

    def __init__(self, path: Path, repeats: int) -> None:
        self.path, self.repeats = path, repeats
        self.ready, self.go, self.answered = threading.Event(), threading.Event(), threading.Event()
        self.results: list[tuple[float, float]] = []
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="bench-client", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as error:  # noqa: BLE001 - not hidden: the benchmark fails with it
            self.error = repr(error)
            self.ready.set()
            self.answered.set()

    async def _main(self) -> None:
        async with connect(self.path) as conn:
            self.ready.set()
            for _ in range(self.repeats):
                self.go.wait(10)
                self.go.clear()
                await asyncio.sleep(0.2)
                began = perf_counter()
                hello = await conn.hello()
                self.results.append((perf_counter() - began, hello["loop_blocked"]))
                self.answered.set()


async def client_attached_call(ctx: Context) -> Figure:
    """The service's call round trip with a client refreshing at 0.25 s on 10,000 processes, over none."""
    processes, seconds, repeats = ctx.size(PROCESSES, 2_000), ctx.size(1_500, 600) / 1000, ctx.size(9, 3)
    async with socket_dir() as directory, Runtime() as rt:
        await pool_tree(rt, processes)
        pid = await Echo.start_link(rt)
        assert pid is not None
        async with serve(rt, path=directory / "attached.sock") as endpoint:
            client = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.remote_bench", "client", str(endpoint.path),
                stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
            )
            try:
                assert client.stdout is not None
                line = await asyncio.wait_for(client.stdout.readline(), 30)
                if line.strip() != b"ready":
                    raise RuntimeError(f"the refreshing client did not start: {line!r}")
                client.send_signal(signal.SIGSTOP)

                async def stopped() -> float:
                    return await _calls(rt, pid, seconds)

                async def refreshing() -> float:
                    client.send_signal(signal.SIGCONT)
                    try:
                        return await _calls(rt, pid, seconds)
                    finally:
                        client.send_signal(signal.SIGSTOP)

                ratio, base, with_ = await _paired(stopped, refreshing, repeats)
            finally:
                client.send_signal(signal.SIGCONT)
                client.kill()
                await client.wait()
    return Figure(
        f"a client refreshing every {REFRESH:g} s on {processes:,} processes: call round trip", ratio, "× without",
        target="≤ 1.10×", ok=ratio <= 1.10,
        detail=f"{repeats} pairs of {seconds:g} s of calls to an echo Server while a client in another OS process "
        f"takes a snapshot every {REFRESH:g} s ({with_:.2f} µs) and while it is stopped ({base:.2f} µs), order "
        "alternating; median of the per-pair ratios; gc off",
    )


async def _refreshing_client(path: str) -> None:
    """The client of `client_attached_call`: a snapshot every `REFRESH` seconds, as the app takes them."""
    async with connect(Path(path)) as conn:
        await conn.snapshot()
        print("ready", flush=True)
        while True:
            await asyncio.sleep(REFRESH)
            await conn.snapshot()


BENCHMARKS = (
    Benchmark("serve_idle_call", serve_idle_call),
    Benchmark("serve_idle_cast", serve_idle_cast),
    Benchmark("remote_snapshot_10k", snapshot_10k),
    Benchmark("remote_hello_blocked", hello_while_blocked),
    Benchmark("remote_client_call", client_attached_call),
)


if __name__ == "__main__":
    if sys.argv[1:2] != ["client"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bench.remote_bench client SOCKET")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(_refreshing_client(sys.argv[2]))
