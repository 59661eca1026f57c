"""Benchmarks of the observer runtime, each figure also a ratio to an asyncio.Queue round trip (`python -m bench`)."""

# To add figures, write `bench/<area>_bench.py` with a `BENCHMARKS` tuple of `core.Benchmark`s
# (a name and `async def fn(ctx: Context) -> Figure`); `__main__.MODULES` lists the file names.
