"""Haicang's benchmarks: figures, never assertions.

Each figure is one JSON line on stdout, printed beside the baseline that bounds it,
measured in the same run on the same machine (pgbench tpcb-like TPS on the same
PostgreSQL; a bare Flask handler on the same server), with the ratio between them
and the target from /work/shared/design/TARGETS.md it is read against. Absolute
figures drift from run to run; ratios drift much less. See bench/README.md.

Run, from the repository root, with PostgreSQL (and Redis) on 127.0.0.1:

    python -m bench.run                  # everything, about 2-3 minutes
    python -m bench.run --quick          # short durations, for a CI smoke run
    python -m bench.run --only api_stock_list --out bench.jsonl
    python -m bench.run --list           # the registered baselines and benchmarks
    make bench BENCH_ARGS=--quick

Add a figure:

1. Write bench/<area>.py with a function per benchmark, decorated with
   `@bench("name", needs=("pgbench_tpcb",))` from bench.registry; `needs` names the
   baseline entries its figures refer to, so `--only name` runs them first.
2. In it, measure, then call `ctx.figure("ops_per_s", value, "txn/s",
   baseline="pgbench_tpcb_tps", target="...", params={...})` once per number.
   Bound every loop by a count and a deadline; use `ctx.pick(full, quick)` for
   durations, and only 127.0.0.1.
3. Add the module to `MODULES` in bench/run.py and describe the figure in
   bench/README.md.

A new baseline is the same with `@baseline("name")`, publishing each value with
`ctx.figure(..., provides="value_name")`.
"""
