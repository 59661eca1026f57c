"""The README's debugging and owned-resource examples run and print what their comments say.

`test_readme.py` runs the first example only; these run the examples of the sections named below.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def example_of(section: str) -> str:
    """The first ```python block of the README section headed `## {section}`."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start : end if end != -1 else None], re.S)
    assert blocks, f"no python example in section {section!r}"
    return blocks[0]


def run(example: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_debugging_example_prints_what_it_says() -> None:
    assert run(example_of("Debugging a live process")) == [
        "in Call(('a', 1), from=None)",
        "call ('a', 1)",
        "reply 1",
        "{'api_token': '***', 'entries': {'a': 1}}",
        "receive 1 1",
        "{'entries': {'a': 1}, 'api_token': '***'}",
        "call to 'cache' timed out after 0.1s (request ('b', 2))",
        "3",
    ]


def test_the_owned_listener_example_is_restarted_on_its_port_after_a_kill() -> None:
    assert run(example_of("Owning a socket: resources that survive a kill")) == [
        "hello from <0.2.0>",
        "hello from <0.4.0>",
    ]
