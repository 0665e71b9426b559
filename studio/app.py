"""Entry point of ``weft-studio``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("weft-studio: the studio is not built yet; use `weft run FILE` meanwhile.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
