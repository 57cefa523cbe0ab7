"""Where runs execute: stock executors, opened and closed in one place.

:func:`open_executor` gives the executor for ``--jobs J`` / ``--scheduler ADDR``:

* one job, no scheduler: None (the runner then runs chunks in this process);
* J jobs: a :class:`concurrent.futures.ProcessPoolExecutor` of J workers, forked from a
  forkserver that has imported the runner once (spawned where there is no forkserver);
* ``--scheduler local``: a Dask ``LocalCluster`` of J worker processes; an address: that
  cluster's scheduler (its workers need negsim installed).

It yields a :class:`Workers`: the executor and how many tasks it runs at once. The runner takes
any :class:`concurrent.futures.Executor` and never looks at its type; stopping is this module's
business. On the way out after an exception (a Ctrl-C, a failed chunk) the pool is told to stop:
chunks still queued are cancelled, and a worker drops the chunk it is running after its current
run (the stop event each worker is given at start, see :func:`stop_requested`), so the command
exits at once and leaves no process behind.

Workers ignore Ctrl-C (the parent handles it: it keeps the finished chunks and stops them), and
end when their parent ends, however it ends (a ``kill -9`` included).
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import resource_tracker

__all__ = ["ExecutionSetupError", "Stopped", "Workers", "chunk_size_for", "open_executor",
           "sigint_deferred", "stop_requested"]

#: How long to try to reach a remote Dask scheduler.
CONNECT_TIMEOUT = "10s"

#: The worker's stop event (set in a worker by its initializer; None in the parent).
_STOP = None


class ExecutionSetupError(Exception):
    """The executor could not be set up (a bad --scheduler address, say)."""


class Stopped(Exception):
    """A chunk left unfinished because its pool was told to stop."""


def stop_requested() -> bool:
    """Whether this worker's pool was told to stop (False outside a worker)."""
    return _STOP is not None and _STOP.is_set()


@dataclass(frozen=True)
class Workers:
    """An executor (None: run in this process) and how many tasks it runs at once."""

    executor: Executor | None
    width: int = 1


def chunk_size_for(runs: int, jobs: int) -> int:
    """Ten to a hundred runs per task, at least 16 tasks per worker: enough runs to amortise
    the per-task overhead (tens of milliseconds against a run's tens), enough tasks that the
    workers finish together (the last task is at most a sixteenth of a worker's share), keep
    the progress bar moving and lose little work when stopped."""
    return max(10, min(100, math.ceil(runs / max(jobs * 16, 1))))


# ---------------------------------------------------------------------- signals
@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back while this thread starts child processes; act on it afterwards.

    A terminal's Ctrl-C reaches the whole process group, and only the parent should act on it:
    a worker hit while it imports would print a traceback. A blocked signal mask is inherited
    by a child, so SIGINT is blocked in this thread while it starts children (they then ignore
    it, or keep it blocked). On the main thread a handler records a Ctrl-C that another thread
    takes meanwhile, and it is raised again when the block ends, so that the code that started
    the children can stop them."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    # the resource tracker's first start unblocks SIGINT in the calling thread: start it first
    resource_tracker.ensure_running()
    main = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not None)
    caught: list[int] = []
    old_handler = signal.signal(signal.SIGINT, lambda n, _f: caught.append(n)) if main else None
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if main:
            signal.signal(signal.SIGINT, old_handler)
            if caught:
                signal.raise_signal(signal.SIGINT)


# ---------------------------------------------------------------------- local processes
def _worker_start(stop) -> None:
    """Worker initializer: ignore Ctrl-C, end with the parent, keep the pool's stop event."""
    global _STOP
    _STOP = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked at start
    parent = multiprocessing.parent_process()
    if parent is not None:
        # an idle worker waits on a queue it also holds the writing end of: after a kill -9
        # of the parent it would wait for ever; the parent's sentinel is ready once it is gone
        def watch() -> None:
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="negsim-parent-watch").start()


def _context():
    """Forkserver where there is one (workers fork from a server that imported the runner
    once: they start in milliseconds, and a Ctrl-C rarely finds one starting), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.runner"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


def start_forkserver() -> None:
    """Start the forkserver now, so that it imports the runner while this process prepares
    (a no-op where there is none)."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        with sigint_deferred():
            from multiprocessing import forkserver

            forkserver.ensure_running()


@contextlib.contextmanager
def _process_pool(jobs: int) -> Iterator[Workers]:
    ctx = _context()
    # the pool starts its workers at its first task; the forkserver they fork from is the one
    # child that imports for seconds: start it now, with Ctrl-C held back
    start_forkserver()
    stop = ctx.Event()
    ex = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_start,
                             initargs=(stop,))
    try:
        yield Workers(ex, jobs)
    except BaseException:
        stop.set()  # running chunks end after their current run; queued ones are cancelled
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        ex.shutdown(wait=True)


# ---------------------------------------------------------------------- Dask
@contextlib.contextmanager
def _dask(jobs: int, scheduler: str) -> Iterator[Workers]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ExecutionSetupError(
            f"--scheduler needs Dask: pip install 'negsim[dask]' ({exc})") from None
    cluster = None
    try:
        if scheduler == "local":
            # workers inherit SIGINT blocked (Ctrl-C is the parent's); their logs are silenced:
            # a task's error comes back through its future, the rest is shutdown noise
            with sigint_deferred():
                cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise ExecutionSetupError(
            f"--scheduler {scheduler}: could not connect to a Dask scheduler there ({exc}); "
            "expected 'local' or an address like tcp://10.0.0.5:8786") from None
    except BaseException:  # a Ctrl-C while the cluster starts
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        raise
    try:
        width = 1
        with contextlib.suppress(Exception):
            width = max(1, sum(client.nthreads().values()))
        # pure=False: chunks are distinct work, not something to deduplicate by hashing
        yield Workers(client.get_executor(pure=False), width)
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


@contextlib.contextmanager
def open_executor(jobs: int = 1, scheduler: str | None = None) -> Iterator[Workers]:
    """The executor for ``--jobs J`` / ``--scheduler ADDR`` (see the module), closed on exit;
    stopped at once when the block raises (a Ctrl-C, a failed chunk)."""
    if scheduler is not None:
        with _dask(jobs, scheduler) as w:
            yield w
    elif jobs <= 1:
        yield Workers(None, 1)
    else:
        with _process_pool(jobs) as w:
            yield w
