"""`python -m gati_runtime_min [BUILD_DIR] [--host H] [--port P] [--workers N] [--reload]`."""

from __future__ import annotations

import argparse
import sys

from gati_runtime_min.errors import ManifestError
from gati_runtime_min.serving import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gati_runtime_min", description="Serve a .gati/ build.")
    parser.add_argument("build_dir", nargs="?", default=".gati")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args(argv)
    try:
        serve(args.build_dir, host=args.host, port=args.port, workers=args.workers, reload=args.reload)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
