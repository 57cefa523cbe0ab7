"""The runner: a run's result depends only on (scenario, seed, run index), never on the executor,
the number of workers or the chunk size; finished chunks are streamed to disk and skipped on a
resume; a run that raises is a row of the failures table; Ctrl-C keeps what is finished and
leaves no worker behind.

Small on purpose: the symmetric duel, a few runs of a few weeks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from sim.executors import Stopped, open_executor, sigint_deferred
from sim.experiment import (
    Experiment,
    manifest_mismatches,
    resume_command,
    run_experiment,
    run_replicates,
    run_seed,
    run_seeds,
)
from sim.folder import FolderError, ResultsFolder
from sim.model import NegotiationModel
from sim.runner import ExecutionError, Interrupted, execute, run_chunk, run_one
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DUEL = load_scenario(ROOT / "scenarios" / "symmetric_duel.toml")
RUNS, STEPS, SEED = 9, 12, 5
TABLES = ("runs", "steps", "events", "failures")


def same(a, b) -> None:
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_dtype=t != "failures",
                                      check_exact=True)


def experiment(chunk_size: int = 1, model_cls: type[NegotiationModel] = NegotiationModel,
               runs: int = RUNS) -> Experiment:
    return Experiment.of(DUEL, runs, SEED, steps=STEPS, chunk_size=chunk_size,
                         model_cls=model_cls)


@pytest.fixture(scope="module")
def reference():
    """In this process, one chunk per run."""
    return run_experiment(experiment(1))


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
    assert [run_seed(7, i) for i in range(50)] == run_seeds(7, 50)  # one without the others


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
    same(reference, run_experiment(experiment(chunk_size)))


def test_a_process_pool_gives_the_same_tables(reference):
    same(reference, run_experiment(experiment(2), jobs=2))


def test_run_replicates_is_an_experiment_of_one_point(reference):
    same(reference, run_replicates(DUEL, RUNS, SEED, steps=STEPS))


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
    not even while it starts (it would print a traceback)."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.SimpleQueue()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with sigint_deferred():
        p = ctx.Process(target=_sigint_kept_out_at_start, args=(q,))
        p.start()
    assert q.get() is True
    p.join(30)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask  # this thread: as before
    with open_executor(2) as w:
        assert w.width == 2
        assert w.executor.submit(_sigint_state).result(timeout=60) == (False, True)


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


def _gone(pids, within: float) -> None:
    t0 = time.time()
    while any(map(_alive, pids)):
        assert time.time() - t0 < within, "a worker outlived its pool"
        time.sleep(0.05)


def test_a_worker_ends_when_its_parent_is_killed():
    """A pool's idle worker waits on a queue whose writing end it holds too: after a kill -9
    of its parent it would wait for ever."""
    code = (
        "import os, threading\n"
        "from sim.executors import open_executor\n"
        "with open_executor(2) as w:\n"
        "    print(w.executor.submit(os.getpid).result(60), flush=True)\n"
        "    threading.Event().wait(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()
        parent.wait(30)
    _gone([worker], 30)


def test_a_ctrl_c_stops_the_running_chunks_after_their_current_run_and_ends_the_workers():
    """The pool's owner tells the workers to stop: a long chunk ends after the run under
    way (Stopped), not hundreds of runs later, and no worker is left."""
    long = experiment(400, runs=400).chunks()[0]
    t0 = time.time()
    with pytest.raises(KeyboardInterrupt), open_executor(2) as w:
        pids = {w.executor.submit(os.getpid).result(60) for _ in range(4)}
        f = w.executor.submit(run_chunk, long)
        while not f.running():
            time.sleep(0.001)
        time.sleep(0.3)
        raise KeyboardInterrupt
    assert time.time() - t0 < 30
    with pytest.raises(Stopped):
        f.result(timeout=0)
    _gone(pids, 10)


def test_a_worker_that_dies_is_an_execution_error_and_the_pool_closes():
    with pytest.raises(ExecutionError, match="BrokenProcessPool"), open_executor(2) as w:
        os.kill(w.executor.submit(os.getpid).result(60), signal.SIGKILL)
        time.sleep(0.5)
        execute(experiment(1).chunks(), lambda c, t: None, w.executor)


def test_a_dask_local_cluster_gives_the_same_tables(reference, tmp_path):
    with open_executor(2, "local") as w:
        res = run_experiment(experiment(3), executor=w.executor, out=tmp_path / "o")
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

    got = {}
    with Counting() as ex:
        execute(experiment(1).chunks(), lambda c, t: got.__setitem__(c.name, t), ex, window=3)
    assert ex.peak <= 3
    runs = pd.concat([got[n]["runs"].to_pandas() for n in sorted(got)], ignore_index=True)
    pd.testing.assert_frame_equal(runs.drop(columns="point"), reference.runs)


def test_a_chunk_is_typed_by_all_its_runs_not_the_first():
    whole = run_experiment(experiment(RUNS, Gappy))
    alone = run_experiment(experiment(1, Gappy))
    same(whole, alone)
    gap = whole.steps.set_index("run")["gap"]
    assert gap.dtype == "float64"
    assert gap.loc[0].isna().all() and gap.loc[1:].notna().all()
    assert (gap.loc[1:] == whole.steps.set_index("run")["step"].loc[1:]).all()


class Labelled(NegotiationModel):
    """Records a text column and an integer column, declared as such."""

    def model_reporters(self) -> dict:
        return {**super().model_reporters(), "label": lambda m: f"week {m.step_no}",
                "week": lambda m: m.step_no}

    def column_types(self) -> dict[str, str]:
        return {**super().column_types(), "label": "str", "week": "int64"}


class Undeclared(Labelled):
    def column_types(self) -> dict[str, str]:
        return {**super().column_types(), "label": "float64"}


def test_the_tables_have_explicit_types_from_the_model_and_the_runner():
    res = run_experiment(experiment(3, Labelled))
    st = res.steps
    assert st["label"].dtype == "str" and st["week"].dtype == "int64"
    assert st["status"].dtype == "str" and st["run"].dtype == "int32"
    assert (st["week"] == st["step"]).all()
    runs = res.runs
    assert runs["first_ceasefire_step"].dtype == "Int64" and runs["seed"].dtype == "uint64"
    assert res.events["proposal_id"].dtype == "Int64"
    assert res.events["accepted"].dtype == "boolean"
    f = run_experiment(experiment(3, Flaky)).failures
    assert dict(f.dtypes.astype(str)) == {"point": "int64", "run": "int64", "seed": "uint64",
                                          "error": "str", "traceback": "str"}


def test_a_value_of_another_type_than_declared_is_a_clear_error():
    with pytest.raises(ValueError, match="column 'label' is of type double.*column_types"):
        run_chunk(experiment(3, Undeclared).chunks()[0])


# ---------------------------------------------------------------------- streaming, resume
def test_parts_are_streamed_and_finished_chunks_are_skipped(reference, tmp_path):
    exp = experiment(2)
    seen = []

    def stop_after_two(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        run_experiment(exp, out=tmp_path / "o", progress=stop_after_two)
    assert (info.value.done, info.value.total) == (1, len(exp.chunks()))  # the 2nd: in flight
    folder = ResultsFolder.open(tmp_path / "o", need=())
    assert not folder.complete and not folder.has("runs")
    assert folder.done_chunks() == {"00000-00000", "00000-00001"}  # its parts were written
    ran = []
    res = run_experiment(exp, out=tmp_path / "o", progress=ran.append)
    assert ran[0] == 4  # the four runs on disk count as done at once
    assert sum(ran) == RUNS and len(ran) == len(exp.chunks()) - 2 + 1
    same(reference, res)
    assert ResultsFolder.open(tmp_path / "o").complete
    assert not (tmp_path / "o" / "parts").exists()


def test_a_chunk_without_its_done_marker_is_run_again(reference, tmp_path):
    exp = experiment(3)
    folder = ResultsFolder.create(tmp_path / "o", exp.manifest())
    for c in exp.chunks():
        folder.write_part(c.name, run_chunk(c))
    (folder.parts / "done-00000-00001").unlink()  # killed between the tables and the marker
    (folder.parts / "runs-00000-00001.parquet").write_bytes(b"half a file")
    ran = []
    res = run_experiment(exp, out=tmp_path / "o", progress=ran.append)
    assert ran == [6, 3]
    same(reference, res)


# ---------------------------------------------------------------------- failures
def test_a_run_that_raises_is_recorded_and_the_others_complete(reference, tmp_path):
    res = run_experiment(experiment(4, Flaky), out=tmp_path / "o")
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
    assert res.manifest["failures"] == 1 and res.manifest["complete"]


# ---------------------------------------------------------------------- folders
def _manifest(**kw):
    base = {"kind": "run", "scenario_digest": "abc", "overrides": ["a.b=1", "c.d=2"], "seed": 0,
            "runs": 10, "steps": 52, "created": "now", "code_version": "x"}
    return {**base, **kw}


def test_resume_checks_the_manifest(tmp_path):
    assert manifest_mismatches(_manifest(), _manifest(overrides=["c.d=2", "a.b=1"])) == []
    diffs = manifest_mismatches(_manifest(), _manifest(runs=11, scenario_digest="abd"))
    assert len(diffs) == 2 and any(d.startswith("runs:") for d in diffs)
    ResultsFolder.create(tmp_path / "f", _manifest(chunk_size=7))
    got = ResultsFolder.resume(tmp_path / "f", _manifest(chunk_size=99, created="later"))
    assert got.manifest["chunk_size"] == 7 and got.manifest["resumed"] == ["later"]
    assert json.loads((tmp_path / "f" / "manifest.json").read_text())["resumed"] == ["later"]
    with pytest.raises(FolderError, match="different experiment"):
        ResultsFolder.resume(tmp_path / "f", _manifest(seed=1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FolderError, match="no manifest"):
        ResultsFolder.resume(tmp_path / "empty", _manifest())
    with pytest.raises(FolderError, match="does not exist"):
        ResultsFolder.resume(tmp_path / "nowhere", _manifest())


def test_a_new_folder_must_be_new_or_empty_and_writable(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError, match="is a file"):
        ResultsFolder.create(tmp_path / "file", _manifest())
    with pytest.raises(FolderError, match="no folder can be made under it"):
        ResultsFolder.create(tmp_path / "file" / "sub", _manifest())
    ResultsFolder.create(tmp_path / "f", _manifest())
    with pytest.raises(FolderError, match="already holds results"):
        ResultsFolder.create(tmp_path / "f", _manifest())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(FolderError, match="is not empty"):
        ResultsFolder.create(tmp_path / "other", _manifest())
    (tmp_path / "empty").mkdir()
    assert ResultsFolder.create(tmp_path / "empty", _manifest()).path == tmp_path / "empty"


def test_a_folder_reads_back_its_scenario_and_tables(reference, tmp_path):
    run_experiment(experiment(3), out=tmp_path / "o")
    folder = ResultsFolder.open(tmp_path / "o", need=("runs", "steps"))
    assert folder.scenario().digest() == DUEL.digest()
    assert folder.dataset("runs").count_rows() == RUNS
    pd.testing.assert_frame_equal(folder.table("runs"), reference.runs)


def test_resume_command_replaces_out_and_appends_resume():
    cmd = resume_command(["sweep", "x.toml", "--out", "old", "--vary", "a.b=1,2", "--resume"],
                         Path("res/my run"))
    assert cmd == "negsim sweep x.toml --vary a.b=1,2 --out 'res/my run' --resume"
