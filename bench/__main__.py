"""`python -m bench <name> [--quick]`: run a benchmark and print one JSON object per line.

Each benchmark is a module `bench/<name>.py` with `run(quick: bool) -> Iterable[dict]`; every dict is a result
with the keys of DESIGN.md (bench, metric, value, unit, n, peer, peer_value, ratio), the peer measured in the same run.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

NAMES = ["encode", "matcher", "realtime", "checkin", "badges", "report"]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the named benchmarks and print their results as JSON lines."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES + ["all"])
    parser.add_argument("--quick", action="store_true", help="a smaller run that finishes in under a minute")
    parser.add_argument("--scale-out", action="store_true",
                        help="realtime only: through HAProxy with 2 and 4 gunicorn processes and 4,000 sockets")
    args = parser.parse_args(argv)
    if args.scale_out and args.name != "realtime":
        parser.error("--scale-out is an option of `realtime`")
    names = NAMES if args.name == "all" else [args.name]
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(json.dumps({"bench": name, "error": "not implemented yet"}), flush=True)
            continue
        options = {"scale_out": True} if args.scale_out else {}
        for row in module.run(quick=args.quick, **options):
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
