"""The registry of baselines and benchmarks, and the Context that turns a measured
number into one JSON line.

This lives apart from run.py on purpose: `python -m bench.run` imports run.py as
`__main__`, so a figure module that imported the registry from `bench.run` would get
a second copy of the module and register into a registry nobody reads.

A *baseline* measures what bounds a benchmark on this machine in this run (pgbench
TPS, a bare Flask handler). A *benchmark* measures one of our paths and names the
baseline each figure is read against; the runner fills in the baseline's value and
the ratio. Both are plain functions `fn(ctx: Context) -> None` that call
`ctx.figure(...)` once per number.
"""
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Entry:
    name: str
    func: Callable[["Context"], None]
    kind: str  # "baseline" or "bench"
    needs: tuple[str, ...] = ()  # names of the baseline entries whose values it reads
    doc: str = ""


BASELINES: dict[str, Entry] = {}
BENCHES: dict[str, Entry] = {}


def _add(table: dict, entry: Entry) -> None:
    if entry.name in BASELINES or entry.name in BENCHES:
        raise ValueError(f"bench name {entry.name!r} is registered twice")
    table[entry.name] = entry


def baseline(name: str):
    """Register `fn(ctx)` as the baseline entry `name`. It runs before any benchmark
    and publishes its values with `ctx.figure(..., provides="value_name")`."""
    def decorator(func):
        _add(BASELINES, Entry(name, func, "baseline", (), (func.__doc__ or "").strip()))
        return func
    return decorator


def bench(name: str, *, needs: tuple[str, ...] = ()):
    """Register `fn(ctx)` as the benchmark `name`; `needs` names the baseline entries
    its figures refer to, so `--only name` runs those baselines too."""
    def decorator(func):
        _add(BENCHES, Entry(name, func, "bench", tuple(needs), (func.__doc__ or "").strip()))
        return func
    return decorator


def _round(value, digits: int):
    """Counts stay integers; measured values keep `digits` decimals, enough for
    figures that drift by whole percents from run to run."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return round(float(value), digits)


@dataclass
class Context:
    """What a running entry sees: the mode, the baseline values measured so far, and
    `figure()` to print a result."""
    quick: bool
    machine: dict
    out_path: str | None = None
    baselines: dict[str, float | None] = field(default_factory=dict)
    current: str = ""

    def pick(self, full, quick):
        """`quick` under --quick (CI smoke), otherwise `full`."""
        return quick if self.quick else full

    def log(self, message: str) -> None:
        # Progress goes to stderr so stdout stays one JSON object per line.
        print(f"[bench {self.current}] {message}", file=sys.stderr, flush=True)

    def figure(self, figure: str, value: float | None, unit: str, *,
               baseline: str | None = None, target: str | None = None,
               params: dict | None = None, provides: str | None = None) -> dict:
        """Print one figure as a JSON line (and append it to --out).

        `baseline` names a value some baseline entry published earlier in this run;
        the ratio is value / baseline (a fraction of the ceiling for rates, a
        multiple of the floor for latencies). `provides` publishes this figure's
        value under that name for later figures. A value of None means "could not
        be measured" and is printed as null rather than guessed.
        """
        base = None
        ratio = None
        if baseline is not None:
            base_value = self.baselines.get(baseline)
            base = {"name": baseline, "value": _round(base_value, 3)}
            if value is not None and base_value:
                ratio = _round(value / base_value, 4)
        line = {
            "bench": self.current,
            "figure": figure,
            "value": _round(value, 3),
            "unit": unit,
            "baseline": base,
            "ratio": ratio,
            "target": target,
            "params": params or {},
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            # The load average when the figure was taken: on a shared 2-core machine a
            # figure measured at load 4 is not comparable with one measured at 0.5.
            "machine": {**self.machine, "load_1m": round(os.getloadavg()[0], 2)},
        }
        if provides is not None:
            self.baselines[provides] = value
        text = json.dumps(line, ensure_ascii=False)
        print(text, flush=True)
        if self.out_path:
            with open(self.out_path, "a", encoding="utf-8") as out:
                out.write(text + "\n")
        return line
