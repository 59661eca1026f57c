"""Python drills for examples/web_service.py: what a TOML drill file cannot say (loops, computed checks).

Run from the repository's root:
    observer drill --file examples/web_service_drills.py --app examples.web_service:build
"""

from __future__ import annotations

import os

from observer.drills import DrillContext

KEYS = 100


async def drill_every_key_survives_a_cache_kill(ctx: DrillContext) -> None:
    """100 keys put, the cache killed: it reloads every one of them from the store"""
    async with ctx.step(f"put {KEYS} keys"):
        for n in range(KEYS):
            await ctx.call("cache", ("put", f"key-{n}", n))
    async with ctx.step("kill the cache, then read every key back") as step:
        kill = await ctx.kill("web/cache")
        step.happened.append(f"restarted in {(kill.restart_seconds or 0) * 1000:.2f} ms")
        await ctx.wait_for_reply("cache", "ping", "pong", timeout=1.0)
        lost = [n for n in range(KEYS) if await ctx.call("cache", ("get", f"key-{n}")) != ("hit", n)]
        ctx.check_equal("keys lost by the restart", [], lost)


async def drill_health_follows_the_cache(ctx: DrillContext) -> None:
    """/health says 503 while the cache hangs and 200 once it is resumed"""
    health = f"http://127.0.0.1:{os.environ.get('WEB_SERVICE_PORT', '8088')}/health"
    async with ctx.step("hang the cache"):
        await ctx.suspend("cache")
        await ctx.wait_for_http(health, 503, timeout=2.0)
    async with ctx.step("resume it"):
        await ctx.resume("cache")
        await ctx.wait_for_http(health, 200, timeout=2.0)
