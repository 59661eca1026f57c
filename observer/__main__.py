"""``python -m observer``: the same entry point as the ``observer`` console script."""

from observer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
