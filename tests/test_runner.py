"""The runner: a run's result depends only on (scenario, seed, run index), never on the executor,
the number of workers or the chunk size; finished chunks are streamed to disk and skipped on a
resume; a run that raises is a row of the failures table; Ctrl-C keeps what is finished.

Small on purpose: the symmetric duel, a few runs of a few weeks.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from sim.execution import (
    ResumeError,
    manifest_mismatches,
    open_executor,
    resume_command,
    start_folder,
)
from sim.model import NegotiationModel
from sim.pool import LocalPool, Stopped, sigint_deferred
from sim.runner import (
    ExecutionError,
    Interrupted,
    _gc_paused,
    assemble,
    execute,
    make_chunks,
    run_chunk,
    run_one,
    run_replicates,
    run_seeds,
    shares_filesystem,
)
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DUEL = load_scenario(ROOT / "scenarios" / "symmetric_duel.toml")
RUNS, STEPS, SEED = 9, 12, 5
TABLES = ("runs", "steps", "events", "failures")


def same(a, b) -> None:
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_dtype=t != "failures",
                                      check_exact=True)


@pytest.fixture(scope="module")
def reference():
    """In this process, one chunk per run."""
    return run_replicates(DUEL, RUNS, SEED, steps=STEPS, chunk_size=1)


class Flaky(NegotiationModel):
    """Raises on one replicate seed, from inside the model's step."""

    bad_seed = run_seeds(SEED, RUNS)[4]

    def step(self) -> None:
        if self._seed == self.bad_seed and self.step_no == 3:
            raise RuntimeError("boom at week 3")
        super().step()


def _gap(m: NegotiationModel):
    """A reporter with no value at all in the first replicate, numbers in the others."""
    return None if m._seed == run_seeds(SEED, RUNS)[0] else float(m.step_no)


class Gappy(NegotiationModel):
    """Records one more column, missing throughout the first replicate: a chunk cannot take its
    columns' types from its first run."""

    def model_reporters(self) -> dict:
        return {**super().model_reporters(), "gap": _gap}


# ---------------------------------------------------------------------- seeds
def test_seeds_come_from_the_parent_and_do_not_depend_on_the_count():
    assert run_seeds(0, 5) == run_seeds(0, 5)
    assert run_seeds(0, 3) == run_seeds(0, 5)[:3]  # a longer sweep extends, never reshuffles
    assert len(set(run_seeds(0, 200))) == 200
    assert run_seeds(1, 3) != run_seeds(0, 3)  # seed 0 is a seed like any other
    assert all(0 <= s < 2**63 for s in run_seeds(7, 50))


def test_a_run_depends_only_on_scenario_seed_and_index(reference):
    s = run_seeds(SEED, RUNS)[6]
    row, st, ev = run_one(DUEL, 6, s, STEPS)
    runs = reference.runs
    assert row["outcome"] == runs.loc[runs["run"] == 6, "outcome"].item()
    pd.testing.assert_frame_equal(
        st, reference.steps[reference.steps["run"] == 6].reset_index(drop=True))


# ---------------------------------------------------------------------- executors
@pytest.mark.parametrize("chunk_size", [2, 4, 100])
def test_chunk_size_does_not_change_results(reference, chunk_size):
    same(reference, run_replicates(DUEL, RUNS, SEED, steps=STEPS, chunk_size=chunk_size))


def test_a_process_pool_gives_the_same_tables(reference):
    same(reference, run_replicates(DUEL, RUNS, SEED, steps=STEPS, jobs=2, chunk_size=2))


def test_the_local_pool_gives_a_task_to_its_thread_when_free_else_to_a_started_worker():
    gate = threading.Event()
    switch = sys.getswitchinterval()
    with LocalPool(2) as ex:
        assert len(ex._processes) == 1  # spawned at once, to import while we go on
        assert sys.getswitchinterval() <= 0.001
        blocked = ex.submit(gate.wait, 60)  # the thread is free: it takes this
        other = ex.submit(os.getpid)  # the thread is busy: the worker, once started
        assert other.result(timeout=60) != os.getpid()
        gate.set()
        assert blocked.result(timeout=60) is True
        # the thread's lane is free before its task's result is: the next task goes to it
        assert ex.submit(os.getpid).result(timeout=60) == os.getpid()
    assert sys.getswitchinterval() == switch  # restored


def _sigint_state() -> tuple[bool, bool]:
    """(blocked, ignored): SIGINT in this process's main thread, as the kernel has it."""
    bits = {ln[:6]: int(ln.split()[1], 16) for ln in
            Path(f"/proc/{os.getpid()}/status").read_text().splitlines()
            if ln.startswith(("SigBlk", "SigIgn"))}
    bit = 1 << (signal.SIGINT - 1)
    return bool(bits["SigBlk"] & bit), bool(bits["SigIgn"] & bit)


def _sigint_kept_out_at_start(queue) -> None:
    queue.put(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
              or signal.getsignal(signal.SIGINT) is signal.SIG_IGN)


def test_workers_start_with_ctrl_c_blocked_and_then_ignore_it():
    """A terminal's Ctrl-C reaches every process of the group: a worker must not take it,
    not even while it imports (it would print a traceback)."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.SimpleQueue()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with sigint_deferred():
        p = ctx.Process(target=_sigint_kept_out_at_start, args=(q,))
        p.start()
    assert q.get() is True
    p.join(30)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask  # this thread: as before
    gate = threading.Event()
    with LocalPool(2) as ex:
        busy = ex.submit(gate.wait, 60)  # the thread takes this; the next goes to the worker
        assert ex.submit(_sigint_state).result(timeout=60) == (False, True)
        gate.set()
        busy.result(timeout=60)


def test_a_ctrl_c_while_workers_are_spawned_is_held_back_to_the_end_and_not_lost():
    """Ignoring SIGINT while the workers were spawned dropped a Ctrl-C of that moment (the
    command then ran to its end). Blocking it in the spawning thread is not enough either:
    another thread takes it and Python raises KeyboardInterrupt in the middle of the spawn,
    leaving a worker out of its pool. It must come once the block is done."""
    other = threading.Thread(target=time.sleep, args=(3,), daemon=True)  # SIGINT unblocked
    other.start()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finished = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with sigint_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(200):  # the spawn goes on...
                    time.sleep(0.001)
                finished.append(True)  # ...to its end
            time.sleep(5)  # (not reached)
        assert finished
    finally:
        signal.signal(signal.SIGINT, old)
    assert signal.getsignal(signal.SIGINT) is old
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # an orphan's zombie is ended, whoever reaps it


def test_a_worker_ends_when_its_parent_is_killed():
    """A pool's idle worker waits on a queue whose writing end it holds too: after a kill -9
    of its parent it waited for ever."""
    code = (
        "import os, threading\n"
        "from sim.pool import LocalPool\n"
        "ex = LocalPool(2)\n"
        "ex.submit(threading.Event().wait, 120)\n"  # the thread: busy
        "print(ex.submit(os.getpid).result(60), flush=True)\n"  # the worker, once started
        "threading.Event().wait(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()
        parent.wait(30)
    t0 = time.time()
    while _alive(worker):
        assert time.time() - t0 < 30, "the worker outlived its parent"
        time.sleep(0.05)


def test_runs_overlapping_on_threads_leave_the_collector_as_it_was():
    """The collector is off during a run. It is one switch for the process: a run that ends
    on one thread while another goes on must not leave it off for good, and runs overlapping
    back to back on several threads must not keep it off (their dead models piled up)."""
    assert gc.isenabled()
    a, b = _gc_paused(), _gc_paused()
    a.__enter__()
    assert not gc.isenabled()  # one run: paused
    b.__enter__()  # another thread's run starts while it goes on: collect as usual
    assert gc.isenabled()
    a.__exit__(None, None, None)
    assert gc.isenabled()
    b.__exit__(None, None, None)
    assert gc.isenabled()
    with _gc_paused():  # alone again: paused
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()  # off before: it stays off
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_no_task_waits_for_a_worker_that_is_still_starting():
    with LocalPool(2) as ex:
        # all queued at once, while the worker imports (a second or more): each goes to the
        # thread as it frees (microseconds each), none to the worker that has not started
        futures = [ex.submit(os.getpid) for _ in range(20)]
        pids = [f.result(timeout=60) for f in futures]
    assert set(pids) == {os.getpid()}


def test_many_quick_tasks_do_not_deadlock_the_pool():
    def hammer(ex, out):
        out.extend(f.result() for f in [ex.submit(int, "7") for _ in range(3000)])

    out: list[int] = []
    with LocalPool(2) as ex:
        t = threading.Thread(target=hammer, args=(ex, out), daemon=True)
        t.start()
        t.join(60)
        assert not t.is_alive(), "submit or result hung"
    assert out == [7] * 3000


def test_a_stopped_pool_resolves_every_future_and_closes():
    gate = threading.Event()
    ex = LocalPool(2)
    running = ex.submit(gate.wait, 60)
    queued = [ex.submit(int, "5") for _ in range(3)]
    ex.stop()
    gate.set()
    done, not_done = wait([running, *queued], timeout=30)
    assert not not_done  # cancelled ones too: wait() sees them
    assert all(f.cancelled() for f in queued)
    closer = threading.Thread(target=ex.shutdown, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "shutdown after stop hung"


def test_a_task_given_to_the_thread_is_not_lost_by_an_immediate_stop():
    for _ in range(20):
        ex = LocalPool(2)
        f = ex.submit(int, "5")
        ex.stop()
        done, _ = wait([f], timeout=30)
        assert done  # a result, or Stopped: never left running
        if f.exception() is not None:
            assert isinstance(f.exception(), Stopped)
        ex.shutdown()


def test_shutdown_without_wait_still_runs_the_queued_tasks():
    gate = threading.Event()
    ex = LocalPool(2)
    first = ex.submit(gate.wait, 60)
    queued = [ex.submit(int, str(i)) for i in range(3)]
    ex.shutdown(wait=False)
    gate.set()
    assert first.result(timeout=60) is True
    assert [f.result(timeout=60) for f in queued] == [0, 1, 2]
    ex.shutdown()  # waits for the close begun in the background (it restores the interval)


def test_the_switch_interval_is_restored_when_the_last_pool_closes():
    switch = sys.getswitchinterval()
    a, b = LocalPool(2), LocalPool(2)
    a.shutdown()
    assert sys.getswitchinterval() <= 0.001  # b is still open
    b.shutdown()
    b.shutdown()  # twice is harmless
    assert sys.getswitchinterval() == switch


def test_a_worker_that_dies_while_starting_is_an_execution_error():
    ex = LocalPool(2)
    try:
        for proc in ex._processes.values():
            os.kill(proc.pid, signal.SIGKILL)
        t0 = time.time()
        while ex._broken is None:
            assert time.time() - t0 < 30
            time.sleep(0.01)
        with pytest.raises(ExecutionError, match="BrokenProcessPool"):
            execute(make_chunks(DUEL, run_seeds(SEED, RUNS), 0, 1, STEPS), executor=ex,
                    parts_dir=None)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def test_a_stopped_local_pool_drops_the_chunk_on_its_thread_after_the_current_run(tmp_path):
    chunk = replace(make_chunks(DUEL, run_seeds(SEED, 400), 0, 400)[0],
                    parts_dir=str(tmp_path))
    ex = LocalPool(2)
    f = ex.submit(run_chunk, chunk)
    while not f.running():
        time.sleep(0.001)
    ex.shutdown(wait=True, cancel_futures=True)
    with pytest.raises(Stopped):
        f.result(timeout=0)
    assert not list(tmp_path.iterdir())  # nothing of the chunk written


def test_a_dask_local_cluster_gives_the_same_tables(reference, tmp_path):
    with open_executor(2, "local") as ex:
        res = run_replicates(DUEL, RUNS, SEED, steps=STEPS, executor=ex, chunk_size=3,
                             parts_dir=tmp_path / "parts")
    same(reference, res)


def test_any_executor_works_and_in_flight_tasks_are_bounded(reference):
    class Counting(ThreadPoolExecutor):
        def __init__(self):
            super().__init__(max_workers=2)
            self.live, self.peak = set(), 0

        def submit(self, fn, *args, **kwargs):
            f = super().submit(fn, *args, **kwargs)
            self.live.add(f)
            self.live = {x for x in self.live if not x.done()}
            self.peak = max(self.peak, len(self.live))
            return f

    chunks = make_chunks(DUEL, run_seeds(SEED, RUNS), 0, 1, STEPS)
    with Counting() as ex:
        tabs = execute(chunks, executor=ex, parts_dir=None, max_in_flight=3)
    assert ex.peak <= 3
    pd.testing.assert_frame_equal(tabs["runs"], reference.runs)


def test_a_chunk_is_typed_by_all_its_runs_not_the_first():
    whole = run_replicates(DUEL, RUNS, SEED, steps=STEPS, chunk_size=RUNS, model_cls=Gappy)
    alone = run_replicates(DUEL, RUNS, SEED, steps=STEPS, chunk_size=1, model_cls=Gappy)
    same(whole, alone)
    gap = whole.steps.set_index("run")["gap"]
    assert gap.dtype == "float64"
    assert gap.loc[0].isna().all() and gap.loc[1:].notna().all()
    assert (gap.loc[1:] == whole.steps.set_index("run")["step"].loc[1:]).all()


def test_the_runs_table_built_from_a_known_schema_equals_the_one_pandas_builds(monkeypatch):
    import pyarrow as pa

    import sim.runner as R

    rows = [R.simulate(DUEL, run, seed, 20)[0] for run, seed in enumerate(run_seeds(3, 6))]
    assert {r["ceasefire_proposer"] is None for r in rows} == {True, False}  # nulls and values
    expected = pa.Table.from_pandas(R._runs_frame(rows), preserve_index=False)
    monkeypatch.setattr(R, "_RUNS_SCHEMAS", {})
    assert R._runs_table(rows).equals(expected, check_metadata=True)  # via pandas, kept
    with monkeypatch.context() as mp:
        mp.setattr(R, "_runs_frame", None)  # the kept schema serves: pandas is not called
        assert R._runs_table(rows).equals(expected, check_metadata=True)


def test_workers_that_do_not_share_this_machines_files_send_their_tables_back(reference,
                                                                              tmp_path):
    assert shares_filesystem(None)
    with ThreadPoolExecutor(2) as ex:  # stands for a remote cluster: the parent writes
        assert not shares_filesystem(ex)
        res = run_replicates(DUEL, RUNS, SEED, steps=STEPS, executor=ex, chunk_size=2,
                             parts_dir=tmp_path / "parts")
    same(reference, res)


# ---------------------------------------------------------------------- streaming, resume
def test_parts_are_streamed_and_finished_chunks_are_skipped(reference, tmp_path):
    parts = tmp_path / "parts"
    chunks = make_chunks(DUEL, run_seeds(SEED, RUNS), 0, 2, STEPS)
    seen = []

    def stop_after_two(n: int) -> None:
        if n:  # (the first call reports the runs already on disk: none)
            seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        execute(chunks, executor=None, parts_dir=parts, progress=stop_after_two)
    assert (info.value.done, info.value.total) == (2, len(chunks))
    assert sorted(p.name for p in parts.glob("done-*")) == ["done-00000-00000",
                                                           "done-00000-00001"]
    ran = []
    execute(chunks, executor=None, parts_dir=parts, progress=ran.append)
    assert ran[0] == 4  # the four runs on disk count as done at once
    assert sum(ran) == RUNS and len(ran) == len(chunks) - 2 + 1
    assemble(parts, [c.name for c in chunks], tmp_path)
    got = pd.read_parquet(tmp_path / "runs.parquet")
    pd.testing.assert_frame_equal(got, reference.runs)
    assert not got.duplicated("run").any()


def test_a_chunk_without_its_done_marker_is_run_again(reference, tmp_path):
    parts = tmp_path / "parts"
    chunks = make_chunks(DUEL, run_seeds(SEED, RUNS), 0, 3, STEPS)
    execute(chunks, executor=None, parts_dir=parts)
    (parts / "done-00000-00001").unlink()  # killed between the tables and the marker
    (parts / "runs-00000-00001.parquet").write_bytes(b"half a file")
    ran = []
    execute(chunks, executor=None, parts_dir=parts, progress=ran.append)
    assert ran == [6, 3]
    assemble(parts, [c.name for c in chunks], tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "runs.parquet"), reference.runs)


# ---------------------------------------------------------------------- failures
def test_a_run_that_raises_is_recorded_and_the_others_complete(reference, tmp_path):
    res = run_replicates(DUEL, RUNS, SEED, steps=STEPS, chunk_size=4, model_cls=Flaky,
                         parts_dir=tmp_path / "parts")
    f = res.failures
    assert len(f) == 1
    assert list(f.columns) == ["point", "run", "seed", "error", "traceback"]
    r = f.iloc[0]
    assert (r["point"], r["run"], r["seed"]) == (0, 4, Flaky.bad_seed)
    assert r["error"] == "RuntimeError: boom at week 3"
    assert "Traceback" in r["traceback"] and "boom at week 3" in r["traceback"]
    assert sorted(res.runs["run"]) == [0, 1, 2, 3, 5, 6, 7, 8]
    ok = reference.runs[reference.runs["run"] != 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.runs, ok)


# ---------------------------------------------------------------------- folders
def _manifest(**kw):
    base = {"kind": "run", "scenario_digest": "abc", "overrides": ["a.b=1", "c.d=2"], "seed": 0,
            "runs": 10, "steps": 52, "created": "now", "code_version": "x"}
    return {**base, **kw}


def test_resume_checks_the_manifest(tmp_path):
    assert manifest_mismatches(_manifest(), _manifest(overrides=["c.d=2", "a.b=1"])) == []
    diffs = manifest_mismatches(_manifest(), _manifest(runs=11, scenario_digest="abd"))
    assert len(diffs) == 2 and any(d.startswith("runs:") for d in diffs)
    start_folder(tmp_path, _manifest(chunk_size=7), resume=False)
    got = start_folder(tmp_path, _manifest(chunk_size=99, created="later"), resume=True)
    assert got["chunk_size"] == 7 and got["resumed"] == ["later"]
    assert json.loads((tmp_path / "manifest.json").read_text())["resumed"] == ["later"]
    with pytest.raises(ResumeError, match="different experiment"):
        start_folder(tmp_path, _manifest(seed=1), resume=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResumeError, match="no manifest"):
        start_folder(tmp_path / "empty", _manifest(), resume=True)
    with pytest.raises(ResumeError, match="does not exist"):
        start_folder(tmp_path / "nowhere", _manifest(), resume=True)


def test_resume_command_replaces_out_and_appends_resume():
    cmd = resume_command(["sweep", "x.toml", "--out", "old", "--vary", "a.b=1,2", "--resume"],
                         Path("res/my run"))
    assert cmd == "negsim sweep x.toml --vary a.b=1,2 --out 'res/my run' --resume"
