"""The idle app's cost: CPU and terminal output of a real `observer` in a pseudo-terminal while nothing changes.

``python -m bench.app_idle [--seconds 10] [--app MODULE:FACTORY]`` starts the app on a quiet tree
(the default system without its workload, unless ``--app`` says otherwise), waits until it has
drawn its first screen, then measures its process's CPU time (psutil) and the bytes it writes to
the terminal over `--seconds`. An idle app should cost nearly nothing, like htop: the target is
at most 1 % of a core, and no output when nothing changed.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
QUIET_APP = "bench.app_idle:quiet_system"
SETTLE = 3.0
"""Seconds the app gets to start and draw before the measurement begins (drawing then is not idle)."""
TARGET_CPU = 1.0
"""Percent of one core an idle app may use."""


async def quiet_system(rt: object) -> object:
    """The default system without its workload: nothing moves on its own."""
    from observer.system import start_system

    return await start_system(rt, workload=False)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Idle:
    """What an idle app cost over `seconds`."""

    seconds: float
    cpu_percent: float
    bytes_written: int

    @property
    def ok(self) -> bool:
        """Whether it met the target: at most `TARGET_CPU` percent of a core."""
        return self.cpu_percent <= TARGET_CPU


def measure(seconds: float, app: str = QUIET_APP, size: tuple[int, int] = (160, 48)) -> Idle:
    """Run `observer --app APP` in a pseudo-terminal and measure it while it idles."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = dict(os.environ, COLUMNS=str(size[0]), LINES=str(size[1]), TERM="xterm-256color")
    _set_size(slave, size)
    process = subprocess.Popen([sys.executable, "-m", "observer", "--app", app], cwd=ROOT, env=env, stdin=slave,
                               stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
    os.close(slave)
    try:
        _drain_for(master, SETTLE)
        watched = psutil.Process(process.pid)
        before = watched.cpu_times()
        written = _drain_for(master, seconds)
        after = watched.cpu_times()
        cpu = (after.user - before.user) + (after.system - before.system)
        return Idle(seconds, 100 * cpu / seconds, written)
    finally:
        os.write(master, b"q")
        try:
            _drain_until_exit(master, process)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            os.close(master)


def _set_size(fd: int, size: tuple[int, int]) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))


def _drain_for(master: int, seconds: float) -> int:
    """Read (and answer nothing to) the app's output for `seconds`; the bytes read."""
    total = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            try:
                total += len(os.read(master, 65536))
            except OSError:
                break
    return total


def _drain_until_exit(master: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        _drain_for(master, 0.1)


def main(argv: list[str] | None = None) -> int:
    """Print the idle app's cost; exit 1 when it is over the target."""
    parser = argparse.ArgumentParser(prog="python -m bench.app_idle", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--app", default=QUIET_APP)
    args = parser.parse_args(argv)
    idle = measure(args.seconds, args.app)
    print(f"idle app over {idle.seconds:g} s: {idle.cpu_percent:.2f} % of a core (target ≤ {TARGET_CPU:g} %), "
          f"{idle.bytes_written:,} bytes to the terminal ({idle.bytes_written / idle.seconds:,.0f} B/s)")
    return 0 if idle.ok else 1


if __name__ == "__main__":
    sys.exit(main())
