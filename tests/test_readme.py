"""The README's runnable example runs and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_starts_with_the_two_commands() -> None:
    fences = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    first = fences[0]
    assert ".venv/bin/observer" in first
    assert "pip install -e '.[test]'" in first and "-m pytest" in first


def test_readme_runtime_example_prints_what_it_says() -> None:
    guide = README.read_text().split("## The runtime in five minutes", 1)[1]
    example = re.findall(r"```python\n(.*?)```", guide, re.S)[0]
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["1", "shutdown", "1 101", "['a', 'b']"]


def test_readme_drill_file_passes(tmp_path: Path) -> None:
    from observer.drills.cli import main

    drill = re.findall(r"```toml\n(.*?)```", README.read_text(), re.S)[0]
    path = tmp_path / "readme.toml"
    path.write_text(drill)
    assert main(["--file", str(path)]) == 0
