"""``--jobs J`` on this machine: J - 1 spawned worker processes and a thread of this process.

A spawned worker starts empty and spends about two seconds importing Mesa, pandas, SciPy and
pydantic before its first run. This process has them already (it built the scenario and plans
the chunks), so it runs chunks too, on a thread, while the J - 1 workers start: the start-up
then idles one core instead of all J, and no chunk of this process is pickled. The workers are
spawned as soon as the pool exists, so that they import while this process goes on (the command
line opens the pool before it imports the runner itself).

This module imports only the standard library: the command line opens the pool first.
"""

from __future__ import annotations

import contextlib
import contextvars
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

__all__ = ["LocalPool", "Stopped", "default_executor", "stop_requested"]

#: Set on the pool's thread: the pool's stop event (a chunk checks it between runs).
_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "negsim_stop", default=None)


class Stopped(Exception):
    """A chunk left unfinished because its pool was stopped (Ctrl-C)."""


def stop_requested() -> bool:
    """Whether the pool running this chunk on its thread was stopped (never in a worker)."""
    stop = _STOP.get()
    return stop is not None and stop.is_set()


def _worker_start() -> None:
    """Worker initializer: ignore Ctrl-C (a terminal's reaches the whole process group; the
    parent handles it: it keeps the finished chunks and stops the workers), and import the
    runner now, before the first task arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import sim.runner  # noqa: F401


def _nothing() -> None:
    """A task that makes the pool spawn a worker (the initializer does the importing)."""


def _on_thread(stop: threading.Event, fn, args, kwargs):
    _STOP.set(stop)
    return fn(*args, **kwargs)


class LocalPool(Executor):
    """An executor of `jobs` lanes: `jobs - 1` spawn worker processes and one thread of the
    calling process. A task goes to the thread when it is free, else to the processes; give it
    at most `jobs` tasks at a time (:attr:`window`), so that none waits behind a busy lane while
    another is free.

    `shutdown(cancel_futures=True)` also asks a chunk running on the thread to stop after its
    current run (see :func:`stop_requested`)."""

    def __init__(self, jobs: int) -> None:
        if jobs < 2:
            raise ValueError(f"LocalPool needs jobs >= 2, got {jobs}")
        self.jobs = jobs
        #: tasks to keep in flight: one a lane
        self.window = jobs
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread_busy = False
        self._on_workers = 0  # tasks given to the workers and not done
        self._procs = ProcessPoolExecutor(max_workers=jobs - 1,
                                          mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_worker_start)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="negsim-chunk")
        # A finished worker's next task is sent by the calling thread, which waits for the
        # interpreter lock while the pool's thread computes: a 1 ms switch interval instead of
        # 5 cuts that wait (measured: 12 ms to 3 ms a chunk) and costs nothing while no other
        # thread is waiting. Restored at shutdown.
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, 0.001))
        for _ in range(jobs - 1):  # spawn every worker now: they import while we go on
            self._procs.submit(_nothing)

    @property
    def _processes(self):
        """The worker processes (read by `sim.runner.stop_executor` to end them at once)."""
        return self._procs._processes

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            if not self._thread_busy and not self._stop.is_set():
                self._thread_busy = True
                f = self._thread.submit(_on_thread, self._stop, fn, args, kwargs)
                f.add_done_callback(self._thread_done)
                return f
            self._on_workers += 1
        f = self._procs.submit(fn, *args, **kwargs)
        f.add_done_callback(self._worker_done)
        return f

    def _thread_done(self, _f: Future) -> None:
        with self._lock:
            self._thread_busy = False

    def _worker_done(self, _f: Future) -> None:
        with self._lock:
            self._on_workers -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As `Executor.shutdown`; with `cancel_futures`, a chunk on the thread also stops after
        its current run. Workers with no task of ours are ended at once, not waited for (one
        may still be importing, when the pool closes before any work: a bad input, say)."""
        if cancel_futures:
            self._stop.set()
        with self._lock:
            idle = self._on_workers == 0
        procs = self._workers()  # shutdown forgets them
        self._procs.shutdown(wait=wait and not idle, cancel_futures=cancel_futures)
        if idle:
            _end(procs)
        self._thread.shutdown(wait=wait, cancel_futures=cancel_futures)
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None

    def stop(self) -> None:
        """Stop at once: cancel what is queued, stop the thread's chunk after its current run,
        end the workers (their running chunks are lost; finished ones are on disk)."""
        procs = self._workers()
        self.shutdown(wait=False, cancel_futures=True)
        _end(procs)

    def _workers(self) -> list:
        return list((self._procs._processes or {}).values())


def _end(procs) -> None:
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(5)


def default_executor(jobs: int) -> Executor | None:
    """None (run in the calling process) for one job, else a :class:`LocalPool`: jobs - 1
    spawn worker processes and a thread of the calling process."""
    if jobs <= 1:
        return None
    return LocalPool(jobs)
