"""How fast and how lean are many runs? The numbers behind the issue's targets.

    python benchmarks/bench.py             # throughput at 1 and 2 workers, batch_run, phases
    python benchmarks/bench.py --runs 400 --memory 1000,10000 --json bench.json
    python benchmarks/bench.py --runs 600 --repeat 3 --scale-runs 3000   # as in RESULTS.md
    python benchmarks/bench.py --profile   # where a model step spends its time

Measures, on the Libya scenario (the symmetric duel if it is absent, and says so):

* runs per second of :func:`sim.runner.run_replicates` at ``jobs`` 1 and 2, writing the full
  runs/steps/events tables to a temporary folder, and the parallel efficiency
  ``rate(2) / (2 * rate(1))``. One job runs in this process; J jobs run on
  J worker processes (a ``ProcessPoolExecutor`` forked from a forkserver, see
  :mod:`sim.executors`), their start-up included;
* the same runs through ``mesa.batch_run`` (what a Mesa user would otherwise reach for: it keeps
  every step in memory as a list of dicts and writes nothing), in a subprocess, because it sets
  the multiprocessing start method globally;
* peak memory (max RSS) of the parent and of the largest worker for N runs written to disk, each
  in a fresh subprocess (``--memory``);
* the time of one model step split into its phases (events, support, diplomacy, fighting,
  ceasefire life, learning, end check, data collection), by wrapping the model's phase methods on
  an instance; plus model construction and the runner's table building per run;
* with ``--profile``, the functions where model time goes (pyinstrument if installed, else
  cProfile).

Targets (from the issue): faster than mesa.batch_run while writing full tables; parallel
efficiency >= 85% at 2 workers; 10,000 Libya runs within 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = ("_events", "_support", "_preferences", "_diplomacy", "_fighting", "_ceasefire_life",
          "_learning", "_check_end", "_invalidate")


def phases_of(model_cls) -> tuple[str, ...]:
    """The private phase methods ``step`` calls (the listed ones, and any others it calls)."""
    import inspect
    import re

    called = re.findall(r"self\.(_[a-z_]+)\(", inspect.getsource(model_cls.step))
    return tuple(dict.fromkeys(p for p in (*PHASES, *called) if p in called))


def scenario_path() -> tuple[Path, str]:
    libya = ROOT / "scenarios" / "libya_2019.toml"
    if libya.exists():
        return libya, ""
    return (ROOT / "scenarios" / "symmetric_duel.toml",
            "scenarios/libya_2019.toml is absent: measuring the symmetric duel instead")


def _load(path: Path):
    from sim.scenario import load_scenario

    return load_scenario(path)


# ---------------------------------------------------------------------- runner throughput
def bench_runner(path: Path, runs: int, jobs: int, seed: int = 0) -> dict:
    """Runs per second of run_replicates writing the full tables (a fresh subprocess)."""
    code = f"""
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from sim.scenario import load_scenario
from sim.experiment import run_replicates
scn = load_scenario({str(path)!r})
def cpu():  # this process and its finished workers
    return sum(x.ru_utime + x.ru_stime for x in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))
with tempfile.TemporaryDirectory() as tmp:
    t, c = time.perf_counter(), cpu()
    res = run_replicates(scn, {runs}, {seed}, jobs={jobs}, out=Path(tmp) / "out")
    el, cpu_s = time.perf_counter() - t, cpu() - c
    sizes = sum(f.stat().st_size for f in (Path(tmp) / "out").glob("*.parquet"))
    n = len(res.runs)
print(json.dumps({{"seconds": el, "cpu_seconds": cpu_s, "runs": n, "bytes": sizes,
    "parent_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r.update(jobs=jobs, rate=r["runs"] / r["seconds"])
    return r


# ---------------------------------------------------------------------- worker start-up
def _ready(_=None) -> bool:
    import sim.runner  # noqa: F401 - what a worker imports to run its first chunk

    return True


def bench_startup(jobs: int) -> float:
    """Seconds until `jobs` spawned workers have imported the runner (what each pays before
    its first chunk; with --jobs J the runner spawns J - 1, its own thread being the J-th
    lane), in a fresh subprocess like the throughput measurements."""
    code = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
if __name__ == "__main__":
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from bench import _ready
    t = time.perf_counter()
    with ProcessPoolExecutor({jobs}, mp_context=multiprocessing.get_context("spawn")) as ex:
        list(ex.map(_ready, range({jobs})))
        print(time.perf_counter() - t)
"""
    return float(_run_script(code))


def _run_script(code: str) -> str:
    """Run `code` as a script file in a fresh interpreter (spawned workers need a real
    __main__ module); return the last line it printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    try:
        out = subprocess.run([sys.executable, f.name], capture_output=True, text=True,
                             check=True, cwd=ROOT)
    finally:
        os.unlink(f.name)
    return out.stdout.strip().splitlines()[-1]


# ---------------------------------------------------------------------- mesa.batch_run
def bench_batch_run(path: Path, runs: int, processes: int, seed: int = 0) -> dict:
    """The same runs through mesa.batch_run (subprocess: it sets the start method globally)."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
import mesa
from sim.model import NegotiationModel
from sim.experiment import run_seeds
from sim.scenario import load_scenario
def cpu():  # this process and its finished workers
    return sum(x.ru_utime + x.ru_stime for x in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))
if __name__ == "__main__":
    scn = load_scenario({str(path)!r})
    seeds = run_seeds({seed}, {runs})
    t, c = time.perf_counter(), cpu()
    rows = mesa.batch_run(NegotiationModel, {{"scenario": [scn]}}, rng=seeds,
                          number_processes={processes}, data_collection_period=1,
                          max_steps=scn.model.weeks, display_progress=False)
    el, cpu_s = time.perf_counter() - t, cpu() - c
    # what it takes to have its steps on disk too (the runner also writes runs and events)
    import os, tempfile
    import pandas as pd
    df = pd.DataFrame(rows).drop(columns=["scenario"])
    fd, tmp = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    df.to_parquet(tmp, index=False)
    os.unlink(tmp)
    el_w = time.perf_counter() - t
    print(json.dumps({{"seconds": el, "cpu_seconds": cpu_s, "seconds_with_write": el_w,
        "rows": len(rows),
        "parent_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    r = json.loads(_run_script(code))
    r.update(processes=processes, rate=runs / r["seconds"])
    return r


# ---------------------------------------------------------------------- paired, 1 worker
def bench_paired(path: Path, blocks: int, runs: int) -> dict:
    """CPU time per run of the runner (full tables written) and of mesa.batch_run, one worker
    each, in short blocks that take turns in one process (which goes first alternates), on the
    same seeds. The machine's speed drifts over tens of seconds, so blocks next to each other
    are compared and the median ratio is kept."""
    code = f"""
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
import mesa
from sim.model import NegotiationModel
from sim.runner import run_replicates, run_seeds
from sim.scenario import load_scenario
scn = load_scenario({str(path)!r})
def runner(seed, runs={runs}):
    with tempfile.TemporaryDirectory() as tmp:
        run_replicates(scn, runs, seed, jobs=1, parts_dir=Path(tmp) / "parts")
def batch_run(seed, runs={runs}):
    mesa.batch_run(NegotiationModel, {{"scenario": [scn]}}, rng=run_seeds(seed, runs),
                   number_processes=1, data_collection_period=1, max_steps=scn.model.weeks,
                   display_progress=False)
if __name__ == "__main__":
    runner(0, 5), batch_run(0, 5)  # imports and first-use caches, for both
    blocks = []
    for b in range({blocks}):
        took = {{}}
        for f in ((runner, batch_run) if b % 2 == 0 else (batch_run, runner)):
            c = time.process_time()
            f(100 + b)
            took[f.__name__] = (time.process_time() - c) / {runs} * 1e3
        blocks.append(took)
    print(json.dumps(blocks))
"""
    blocks_ms = json.loads(_run_script(code))
    ratios = sorted(b["batch_run"] / b["runner"] for b in blocks_ms)
    return {"blocks": blocks_ms, "runs_per_block": runs, "ratios": ratios,
            "ratio": statistics.median(ratios),
            "runner_ms": statistics.median(b["runner"] for b in blocks_ms),
            "batch_run_ms": statistics.median(b["batch_run"] for b in blocks_ms)}


# ---------------------------------------------------------------------- phases
def bench_phases(path: Path, runs: int, seed: int = 1) -> dict:
    """Mean time per step of each phase, over `runs` runs, plus construction and tables."""
    from sim.experiment import Experiment, run_seeds
    from sim.folder import ResultsFolder
    from sim.model import NegotiationModel
    from sim.runner import _run_row, run_chunk

    scn = _load(path)
    phases = phases_of(NegotiationModel)
    totals: dict[str, float] = {p: 0.0 for p in (*phases, "collect")}
    steps = 0
    init = run_t = 0.0

    def timed(fn, name):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[name] += time.perf_counter() - t
        return wrapper

    done = {}
    for run, s in enumerate(run_seeds(seed, runs)):
        t0 = time.perf_counter()
        m = NegotiationModel(scn, rng=s)
        t1 = time.perf_counter()
        for p in phases:
            setattr(m, p, timed(getattr(m, p), p))
        m.datacollector.collect = timed(m.datacollector.collect, "collect")
        m.run()
        t2 = time.perf_counter()
        init += t1 - t0
        run_t += t2 - t1
        steps += m.step_no
        done[run, s] = (_run_row(m, run, s), m.datacollector.model_vars,
                        m.datacollector.tables["events"], m.column_types())
    # what the runner adds to these runs: a chunk's tables built and written as part files,
    # then assembled into the final tables (the simulations replayed from the runs above)
    exp = Experiment.of(scn, runs, seed, chunk_size=runs)
    chunk = exp.chunks()[0]
    for _ in range(2):  # the second time, past the first chunk's one-offs (schemas, imports)
        with tempfile.TemporaryDirectory() as tmp, _replayed(done):
            folder = ResultsFolder.create(Path(tmp) / "out", exp.manifest())
            t = time.perf_counter()
            folder.write_part(chunk.name, run_chunk(chunk))
            t_parts = time.perf_counter()
            folder.finish([chunk.name])
            t_final = time.perf_counter()
    per_step = {p: totals[p] / steps * 1e3 for p in totals}
    other = run_t / steps * 1e3 - sum(per_step.values())
    return {"runs": runs, "steps_per_run": steps / runs, "ms_per_step": run_t / steps * 1e3,
            "phases_ms": {**per_step, "other (step loop)": other},
            "init_ms_per_run": init / runs * 1e3,
            "tables_ms_per_run": (t_parts - t) / runs * 1e3,
            "assemble_ms_per_run": (t_final - t_parts) / runs * 1e3,
            "model_ms_per_run": (init + run_t) / runs * 1e3}


@contextlib.contextmanager
def _replayed(done: dict):
    """`sim.runner.simulate` returning the outputs of runs already made."""
    import sim.runner as runner

    real = runner.simulate
    runner.simulate = lambda scenario, run, seed, *a, **k: done[run, seed]
    try:
        yield
    finally:
        runner.simulate = real


# ---------------------------------------------------------------------- profile
def profile(path: Path, runs: int, seed: int = 2) -> str:
    from sim.experiment import run_seeds
    from sim.model import NegotiationModel

    scn = _load(path)
    seeds = run_seeds(seed, runs)

    def work():
        for s in seeds:
            NegotiationModel(scn, rng=s).run()

    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import io
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        work()
        pr.disable()
        buf = io.StringIO()
        pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(25)
        return buf.getvalue()
    p = Profiler(interval=0.0005)
    p.start()
    work()
    p.stop()
    return p.output_text(unicode=False, color=False, show_all=False)


# ---------------------------------------------------------------------- report
def _median(results: list[dict]) -> dict:
    return sorted(results, key=lambda r: r["rate"])[len(results) // 2]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=400,
                    help="runs per throughput measurement (default 400)")
    ap.add_argument("--jobs", default="1,2", help="job counts to measure (default 1,2)")
    ap.add_argument("--memory", default="",
                    help="run counts for peak-memory measurements, e.g. 1000,10000 (at the "
                         "largest --jobs)")
    ap.add_argument("--scale-runs", type=int, default=0, metavar="N",
                    help="also measure 1 and the most workers once at N runs (e.g. 3000), "
                         "where the workers' start-up weighs less")
    ap.add_argument("--paired-blocks", type=int, default=8, metavar="K",
                    help="blocks of the paired 1-worker comparison with batch_run (default 8; "
                         "0: skip it)")
    ap.add_argument("--paired-runs", type=int, default=50, metavar="N",
                    help="runs per block of the paired comparison (default 50)")
    ap.add_argument("--phase-runs", type=int, default=30, help="runs timed phase by phase")
    ap.add_argument("--no-batch-run", action="store_true", help="skip mesa.batch_run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate runner and batch_run this many times; keep the medians")
    ap.add_argument("--profile", action="store_true", help="profile model time")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-': stdout)")
    a = ap.parse_args(argv)

    path, note = scenario_path()
    jobs = [int(j) for j in a.jobs.split(",") if j]
    res: dict = {"scenario": str(path.relative_to(ROOT)), "note": note, "cores": os.cpu_count(),
                 "load_before": os.getloadavg()}
    say = (lambda *x: print(*x, file=sys.stderr)) if a.json == "-" else print
    if note:
        say(f"NOTE: {note}")
    say(f"scenario {res['scenario']}; {res['cores']} cores; load average "
        f"{res['load_before'][0]:.2f} (other work on the machine skews every number)")

    # every repetition measures each job count with the runner, then with batch_run, and the
    # median rate is kept: other work on the machine then weighs on all of them alike, and the
    # parallel efficiency is taken within each repetition (see below), from measurements made
    # back to back (the machine's speed drifts over tens of seconds)
    res["runner"], res["batch_run"] = [], []
    ours_by, theirs_by = {j: [] for j in jobs}, {j: [] for j in jobs}
    for _ in range(a.repeat):
        for j in jobs:  # the runner's job counts back to back: the efficiency is their ratio
            ours_by[j].append(bench_runner(path, a.runs, j))
        for j in jobs if not a.no_batch_run else ():
            theirs_by[j].append(bench_batch_run(path, a.runs, j))
    for j in jobs:
        ours, theirs = ours_by[j], theirs_by[j]
        r = _median(ours)
        r["rates"] = [x["rate"] for x in ours]
        res["runner"].append(r)
        say(f"runner         jobs={j}: {a.runs} runs in {r['seconds']:6.1f} s = "
            f"{r['rate']:6.1f} runs/s (full tables, {r['bytes'] / 1e6:.1f} MB of Parquet; "
            f"parent peak {r['parent_maxrss_mb']:.0f} MB)")
        if theirs:
            b = _median(theirs)
            b["rates"] = [x["rate"] for x in theirs]
            res["batch_run"].append(b)
            b["rate_with_write"] = a.runs / b["seconds_with_write"]
            say(f"mesa.batch_run jobs={j}: {a.runs} runs in {b['seconds']:6.1f} s = "
                f"{b['rate']:6.1f} runs/s (nothing written; parent peak "
                f"{b['parent_maxrss_mb']:.0f} MB); runner / batch_run = "
                f"{r['rate'] / b['rate']:.2f}")
            say(f"  batch_run + its steps to Parquet: {b['rate_with_write']:6.1f} runs/s; "
                f"runner / that = {r['rate'] / b['rate_with_write']:.2f}")
            # CPU time is steadier than wall time on a shared machine (the medians of each)
            ours_cpu = sorted(x["cpu_seconds"] for x in ours)[len(ours) // 2] / a.runs * 1e3
            their_cpu = sorted(x["cpu_seconds"] for x in theirs)[len(theirs) // 2] / a.runs * 1e3
            r["cpu_ms_per_run"], b["cpu_ms_per_run"] = ours_cpu, their_cpu
            say(f"  CPU per run, workers included: runner {ours_cpu:.1f} ms, batch_run "
                f"{their_cpu:.1f} ms; batch_run / runner = {their_cpu / ours_cpu:.2f}")
    if not a.no_batch_run and a.paired_blocks:
        pr = res["paired"] = bench_paired(path, a.paired_blocks, a.paired_runs)
        say(f"paired, 1 worker, {a.paired_blocks} blocks of {a.paired_runs} runs taking turns: "
            f"CPU per run runner {pr['runner_ms']:.1f} ms (full tables written), batch_run "
            f"{pr['batch_run_ms']:.1f} ms (nothing written) (medians); batch_run / runner = "
            f"{pr['ratio']:.2f} (median of the blocks' ratios; {pr['ratios'][0]:.2f} to "
            f"{pr['ratios'][-1]:.2f})")
    r1 = next((r for r in res["runner"] if r["jobs"] == 1), None)
    for r in res["runner"]:
        if r1 and r["jobs"] > 1:
            # within each repetition (measured minutes apart, not tens of minutes), then the
            # median: the machine's drift between repetitions cancels
            paired = sorted(x["rate"] / (r["jobs"] * one["rate"])
                            for x, one in zip(ours_by[r["jobs"]], ours_by[1], strict=True))
            r["efficiencies"] = paired
            r["efficiency"] = statistics.median(paired)
            # one job runs in the process that already imported everything; J jobs run on
            # that process's thread at once and on J - 1 spawned workers once they have
            # imported the runner (the same for any number of runs): the ideal time with that
            # start-up is (runs / rate(1) + (J - 1) x start-up) / J
            J = r["jobs"]
            r["startup_seconds"] = bench_startup(J - 1)
            r["efficiency_after_startup"] = statistics.median(
                (x["runs"] / one["rate"])
                / max(J * x["seconds"] - (J - 1) * r["startup_seconds"], 1e-9)
                for x, one in zip(ours_by[J], ours_by[1], strict=True))
            say(f"parallel efficiency at {J} jobs: {r['efficiency']:.1%} "
                f"(target >= 85%; {', '.join(f'{e:.1%}' for e in paired)}); "
                f"{J - 1} spawned worker(s) start in {r['startup_seconds']:.1f} s while this "
                f"process's thread runs chunks; counting that start-up as unavoidable: "
                f"{r['efficiency_after_startup']:.0%}")
    if a.scale_runs and r1 and len(jobs) > 1:
        # the same at a larger number of runs, where the start-up weighs less
        j = max(jobs)
        one, many = bench_runner(path, a.scale_runs, 1), bench_runner(path, a.scale_runs, j)
        eff = many["rate"] / (j * one["rate"])
        res["scale"] = {"runs": a.scale_runs, "jobs": j, "rate_1": one["rate"],
                        "rate_j": many["rate"], "efficiency": eff}
        say(f"at {a.scale_runs} runs (one measurement each): {one['rate']:.1f} runs/s with 1 "
            f"worker, {many['rate']:.1f} with {j}: parallel efficiency {eff:.1%}")
    best = max(res["runner"], key=lambda r: r["rate"])
    res["seconds_for_10000"] = 10_000 / best["rate"]
    say(f"10,000 runs at {best['rate']:.1f} runs/s: {res['seconds_for_10000']:.0f} s "
        "(target <= 60 s on 2 cores)")

    if a.memory:
        res["memory"] = []
        j = max(jobs)
        for n in (int(x) for x in a.memory.split(",") if x):
            r = bench_runner(path, n, j, seed=11)
            res["memory"].append({"runs": n, "jobs": j, **r})
            say(f"memory {n:>6} runs, jobs={j}: parent peak {r['parent_maxrss_mb']:.0f} MB, "
                f"largest worker {r['worker_maxrss_mb']:.0f} MB ({r['seconds']:.0f} s, "
                f"{r['rate']:.1f} runs/s)")

    ph = bench_phases(path, a.phase_runs)
    res["phases"] = ph
    say(f"\none step: {ph['ms_per_step']:.2f} ms ({ph['steps_per_run']:.0f} steps per run); "
        f"per run: the model {ph['model_ms_per_run']:.1f} ms with the phase timers (construction "
        f"{ph['init_ms_per_run']:.1f} ms); the runner's tables and part files "
        f"{ph['tables_ms_per_run']:.2f} ms, the final tables from the parts "
        f"{ph['assemble_ms_per_run']:.2f} ms")
    say(f"{'phase':<28}{'ms/step':>9}{'share':>8}")
    for k, v in sorted(ph["phases_ms"].items(), key=lambda kv: -kv[1]):
        say(f"{k:<28}{v:>9.3f}{v / ph['ms_per_step']:>8.0%}")

    if a.profile:
        text = profile(path, max(5, a.phase_runs // 3))
        res["profile"] = text
        say("\n" + text)
    res["load_after"] = os.getloadavg()
    if a.json:
        blob = json.dumps(res, indent=2, default=str)
        if a.json == "-":
            print(blob)
        else:
            Path(a.json).write_text(blob + "\n")
    return res


if __name__ == "__main__":
    main()
