"""`python -m bench.run [--only NAME]... [--quick] [--out FILE] [--list]`

Imports the figure modules (which register their baselines and benchmarks), runs
the baselines the selected benchmarks need, then the benchmarks, printing one JSON
line per figure on stdout. Progress and errors go to stderr. The exit status is 1
if an entry raised (its figures so far are still printed), never because a figure
missed its target: figures are read, not asserted.
"""
import argparse
import importlib
import os
import platform
import sys
import time
import traceback

from .registry import BASELINES, BENCHES, Context, Entry
from .tools import psql

# A later issue adds its figures by writing bench/<name>.py and listing it here.
MODULES = ("bench.baseline", "bench.stock", "bench.allocation", "bench.sync", "bench.realtime",
           "bench.ingest", "bench.lists", "bench.load", "bench.tracking_page",
           "bench.routes")


def load_modules() -> None:
    for name in MODULES:
        importlib.import_module(name)


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(terse=True)}
    try:
        info["postgresql"] = psql("SHOW server_version", timeout=10)
    except Exception:  # noqa: BLE001  the figures say null rather than not run
        info["postgresql"] = None
    return info


def select_entries(only: list[str]) -> list[Entry]:
    """The entries to run, baselines first. With --only, the named entries plus the
    baselines they need, in registration order."""
    if not only:
        return [*BASELINES.values(), *BENCHES.values()]
    names = {n.strip() for item in only for n in item.split(",") if n.strip()}
    unknown = names - BASELINES.keys() - BENCHES.keys()
    if unknown:
        known = ", ".join([*BASELINES, *BENCHES])
        raise SystemExit(f"unknown bench {', '.join(sorted(unknown))}; known: {known}")
    wanted_baselines = {n for n in names if n in BASELINES}
    for name in names & BENCHES.keys():
        wanted_baselines.update(BENCHES[name].needs)
    return ([e for e in BASELINES.values() if e.name in wanted_baselines]
            + [e for e in BENCHES.values() if e.name in names])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this baseline or benchmark (repeat, or comma-separate)")
    parser.add_argument("--quick", action="store_true",
                        help="short durations, fewer requests: a CI smoke run")
    parser.add_argument("--out", metavar="FILE", help="also append the JSON lines to FILE")
    parser.add_argument("--list", action="store_true", help="list the entries and exit")
    args = parser.parse_args(argv)

    load_modules()
    if args.list:
        for entry in [*BASELINES.values(), *BENCHES.values()]:
            summary = entry.doc.splitlines()[0] if entry.doc else ""
            print(f"{entry.kind:8} {entry.name:30} {summary}")
        return 0
    entries = select_entries(args.only)
    ctx = Context(quick=args.quick, machine=machine(), out_path=args.out)
    failed = []
    began = time.monotonic()
    for entry in entries:
        ctx.current = entry.name
        missing = [n for n in entry.needs if n in {f.name for f in failed}]
        if missing:
            # Its figures still print, with a null baseline and ratio.
            ctx.log(f"baseline {', '.join(missing)} failed; ratios will be null")
        entry_began = time.monotonic()
        try:
            entry.func(ctx)
        except Exception:  # noqa: BLE001  one broken entry must not hide the others
            failed.append(entry)
            ctx.log("FAILED\n" + traceback.format_exc())
        ctx.log(f"done in {time.monotonic() - entry_began:.1f}s")
    ctx.current = "run"
    ctx.log(f"{len(entries)} entries in {time.monotonic() - began:.1f}s"
            + (f"; failed: {', '.join(e.name for e in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
