"""``--jobs J`` on this machine: J - 1 spawned worker processes and a thread of this process.

A spawned worker starts empty and spends about two seconds importing Mesa, pandas, SciPy and
pydantic before its first run. This process has them already (it built the scenario and plans
the chunks), so it runs chunks too, on a thread, while the J - 1 workers start: the start-up
then idles one core instead of all J, and no chunk of this process is pickled. The workers are
spawned as soon as the pool exists, so that they import while this process goes on (the command
line opens the pool before it imports the runner itself).

Tasks wait in the pool's own queue and go to a lane (the thread, or a worker that has finished
starting) only when that lane is free: a worker still importing is given nothing, and at the
end no task waits behind a busy lane while another is idle.

This module imports only the standard library: the command line opens the pool first.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker

__all__ = ["LocalPool", "Stopped", "chunk_size_for", "default_executor", "sigint_deferred",
           "stop_requested"]

#: Set on the pool's thread: the pool's stop event (a chunk checks it between runs).
_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "negsim_stop", default=None)


class Stopped(Exception):
    """A chunk left unfinished because its pool was stopped (Ctrl-C)."""


def stop_requested() -> bool:
    """Whether the pool running this chunk on its thread was stopped (never in a worker)."""
    stop = _STOP.get()
    return stop is not None and stop.is_set()


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back while this thread starts child processes; act on it afterwards.

    A terminal's Ctrl-C reaches the whole process group, and only the parent should act on
    it: a worker hit while it imports would print a traceback. A blocked signal mask is
    inherited across fork and exec, so SIGINT is blocked in this thread while it spawns: the
    children start with it blocked (a worker's initializer then ignores it; a Dask worker keeps
    it blocked). Threads started inside the block keep it blocked too, which is what the
    threads that spawn Dask's workers need.

    In this process, other threads may still take the signal, and Python would then raise
    KeyboardInterrupt in the main thread at once, in the middle of a spawn (a worker left out
    of its pool's list, a cluster half built). So on the main thread a handler records the
    Ctrl-C instead, and it is raised again, to the handler there was, when the block ends: the
    code that started the children can then stop them. (Ignoring SIGINT here, as before,
    dropped such a Ctrl-C, and the run went on to its end.)"""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    # The resource tracker's first start unblocks SIGINT in the calling thread: start it first.
    resource_tracker.ensure_running()
    # (a handler set outside Python cannot be put back: then the mask alone)
    main = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not None)
    caught: list[int] = []
    old_handler = signal.signal(signal.SIGINT, lambda n, _f: caught.append(n)) if main else None
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # a pending Ctrl-C: recorded now
        if main:
            signal.signal(signal.SIGINT, old_handler)
            if caught:
                signal.raise_signal(signal.SIGINT)


def _worker_start(started) -> None:
    """Worker initializer: ignore Ctrl-C (the parent handles it: it keeps the finished chunks
    and stops the workers), end with the parent (see `_exit_with_parent`), import the runner
    now, before the first task arrives, and say so on `started` (a queue the pool reads)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked at spawn
    _exit_with_parent()
    import sim.runner  # noqa: F401

    started.put(True)


def _exit_with_parent() -> None:
    """End this worker when its parent process ends, however it ends.

    A pool's idle worker waits on a queue it also holds the writing end of, so after a
    `kill -9` of the parent it would wait for ever. A busy worker is ended mid-chunk: its
    chunk is not done (part files are renamed into place whole, the done marker last), and a
    resume runs it again. The parent keeps the pipe behind `parent_process().sentinel` open
    until it has joined the worker, so the sentinel is ready only once the parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not a multiprocessing child
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="negsim-parent-watch").start()


def _nothing() -> None:
    """A task that makes the pool spawn a worker (each worker says itself when it has
    started: the first one up may well run all of these)."""


# A finished worker's next task is sent by a thread that waits for the interpreter lock while
# the pool's thread computes: a 1 ms switch interval instead of 5 cuts that wait (measured:
# 12 ms to 3 ms a chunk) and costs nothing while no other thread is waiting. Set while any
# pool is open; the first to open saves the interval, the last to close restores it.
_SWITCH_LOCK = threading.Lock()
_SWITCH_USERS = 0
_SWITCH_SAVED = 0.005


def _fast_switch(on: bool) -> None:
    global _SWITCH_USERS, _SWITCH_SAVED
    with _SWITCH_LOCK:
        if on:
            if _SWITCH_USERS == 0:
                _SWITCH_SAVED = sys.getswitchinterval()
                sys.setswitchinterval(min(_SWITCH_SAVED, 0.001))
            _SWITCH_USERS += 1
        else:
            _SWITCH_USERS -= 1
            if _SWITCH_USERS == 0:
                sys.setswitchinterval(_SWITCH_SAVED)


class LocalPool(Executor):
    """An executor of `jobs` lanes: one thread of the calling process and `jobs - 1` spawn
    worker processes, fed from one queue.

    Give it up to :attr:`window` tasks at a time (a queued task for each lane, so a lane that
    frees takes the next at once). `shutdown(cancel_futures=True)` also asks a chunk running on
    the thread to stop after its current run (see :func:`stop_requested`); :meth:`stop` ends
    the workers as well."""

    def __init__(self, jobs: int) -> None:
        if jobs < 2:
            raise ValueError(f"LocalPool needs jobs >= 2, got {jobs}")
        self.jobs = jobs
        #: tasks to keep in flight: one running and one queued a lane
        self.window = 2 * jobs
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: collections.deque = collections.deque()  # (future, fn, args, kwargs)
        self._thread_free = True
        self._free_workers = 0  # started and idle
        self._on_workers = 0  # tasks running on workers
        self._closed = False
        self._broken: BaseException | None = None
        _fast_switch(True)
        self._switching = True
        self._procs = self._thread = None
        try:
            ctx = multiprocessing.get_context("spawn")
            self._started = ctx.SimpleQueue()
            self._procs = ProcessPoolExecutor(max_workers=jobs - 1, mp_context=ctx,
                                              initializer=_worker_start,
                                              initargs=(self._started,))
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="negsim-chunk")
            threading.Thread(target=self._count_started, daemon=True,
                             name="negsim-pool-started").start()
            with sigint_deferred():  # spawn every worker now: they import while we go on
                spawned = [self._procs.submit(_nothing) for _ in range(jobs - 1)]
            for f in spawned:  # a worker that dies while it starts breaks the pool
                f.add_done_callback(self._spawn_failed)
        except BaseException:
            self.stop()
            raise

    # ------------------------------------------------------------------ lanes
    def submit(self, fn, /, *args, **kwargs) -> Future:
        f: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new tasks after shutdown")
            if self._broken is not None:
                f.set_exception(self._broken)
                return f
            self._queue.append((f, fn, args, kwargs))
        self._dispatch()
        return f

    def _dispatch(self) -> None:
        """Give queued tasks to free lanes (from any thread; the lock guards the lanes)."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                if self._thread_free:
                    lane = "thread"
                    self._thread_free = False
                elif self._free_workers > 0 and self._broken is None:
                    lane = "worker"
                    self._free_workers -= 1
                    self._on_workers += 1
                else:
                    return
                f, fn, args, kwargs = self._queue.popleft()
            if not f.set_running_or_notify_cancel():  # cancelled while queued
                self._free(lane)
                continue
            try:
                if lane == "thread":
                    self._thread.submit(self._on_thread, f, fn, args, kwargs)
                else:
                    inner = self._procs.submit(fn, *args, **kwargs)
                    inner.add_done_callback(functools.partial(self._worker_done, f))
            except Exception as exc:  # noqa: BLE001 - a broken or closed pool: the task fails
                self._free(lane, broken=exc if lane == "worker" else None)
                f.set_exception(exc)

    def _free(self, lane: str, broken: BaseException | None = None) -> None:
        with self._lock:
            if lane == "thread":
                self._thread_free = True
            else:
                self._on_workers -= 1
                if broken is None:
                    self._free_workers += 1
                elif self._broken is None:
                    self._broken = broken
            self._idle.notify_all()
        if broken is not None:
            self._fail_queued(broken)

    def _on_thread(self, f: Future, fn, args, kwargs) -> None:
        _STOP.set(self._stop)
        result = error = None
        try:
            if self._stop.is_set():
                raise Stopped("the pool was stopped before this task started")
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the task's future
            error = exc
        self._free("thread")  # the lane first: whoever waits on f finds it free
        self._dispatch()
        if error is not None:
            f.set_exception(error)
        else:
            f.set_result(result)

    def _worker_done(self, f: Future, inner: Future) -> None:
        if inner.cancelled():  # the pool shut down with cancel_futures before it started
            self._free("worker")
            f.set_exception(Stopped("cancelled at shutdown"))
            return
        exc = inner.exception()
        self._free("worker", broken=exc if isinstance(exc, BrokenProcessPool) else None)
        self._dispatch()
        if exc is not None:
            f.set_exception(exc)
        else:
            f.set_result(inner.result())

    def _count_started(self) -> None:
        """A daemon thread: each worker that has finished starting becomes a free lane."""
        for _ in range(self.jobs - 1):
            try:
                if not self._started.get():
                    return  # the pool closed
            except (EOFError, OSError):
                return
            with self._lock:
                if self._broken is None and not self._closed:
                    self._free_workers += 1
            self._dispatch()

    def _spawn_failed(self, f: Future) -> None:
        exc = None if f.cancelled() else f.exception()
        if exc is None:
            return
        with self._lock:
            if self._broken is None:
                self._broken = exc  # a worker died while it started (killed, out of memory)
        self._fail_queued(exc)

    def _fail_queued(self, exc: BaseException) -> None:
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
            self._idle.notify_all()
        for f, *_ in queued:
            if f.set_running_or_notify_cancel():
                f.set_exception(exc)

    # ------------------------------------------------------------------ closing
    @property
    def _processes(self):
        """The worker processes (for tests; ProcessPoolExecutor forgets them at shutdown)."""
        return (self._procs._processes or {}) if self._procs is not None else {}

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As `Executor.shutdown`: queued tasks still run unless `cancel_futures`, which also
        stops a chunk on the thread after its current run. Workers with no task running are
        ended at once, not waited for (one may still be importing when the pool closes before
        any work: a bad input, say)."""
        with self._lock:
            self._closed = True
            queued = []
            if cancel_futures:
                self._stop.set()
                queued = list(self._queue)
                self._queue.clear()
        for f, *_ in queued:
            if f.cancel():
                f.set_running_or_notify_cancel()  # so that wait() and as_completed() see it
        if not wait and not cancel_futures:  # the queue still runs, then the pool closes
            threading.Thread(target=self._close, args=(True, False), daemon=True,
                             name="negsim-pool-close").start()
            return
        self._close(wait, cancel_futures)

    def _close(self, wait: bool, cancel_futures: bool) -> None:
        try:
            if wait and not cancel_futures:
                with self._lock:  # queued tasks still run
                    self._idle.wait_for(lambda: not self._queue and self._thread_free
                                        and self._on_workers == 0)
            if self._procs is not None:
                with self._lock:
                    busy = self._on_workers > 0
                procs = list(self._processes.values())  # shutdown forgets them
                _keep_until_done(self._procs)
                self._procs.shutdown(wait=wait and busy, cancel_futures=cancel_futures)
                if not busy:
                    _end(procs)
            if self._thread is not None:  # its queued tasks run (and stop at once if stopped)
                self._thread.shutdown(wait=wait)
        finally:
            with self._lock:  # once, whichever close gets here first
                switching, self._switching = self._switching, False
                if switching:
                    _fast_switch(False)
            if switching:
                with contextlib.suppress(Exception):
                    self._started.put(False)  # ends the reader of started workers

    def stop(self) -> None:
        """Stop at once: cancel what is queued, stop the thread's chunk after its current run,
        end the workers (their running chunks are lost; finished ones are on disk)."""
        procs = list(self._processes.values())
        self.shutdown(wait=False, cancel_futures=True)
        _end(procs)


#: Closed process pools, kept until their manager thread has ended. In Python 3.12.1 (fixed
#: in later releases) a ProcessPoolExecutor whose last reference goes in its own manager
#: thread, while that thread clears a broken pool's work items under the pool's shutdown
#: lock, deadlocks: its weakref callback takes that lock again, and the interpreter hangs at
#: exit joining the thread. A LocalPool closed and dropped while a task was on a worker is
#: such a last reference (the work item's future holds the pool through its done callback),
#: and ending the workers is what breaks the pool. Seen once in CI, after every test passed.
_KEPT: list[tuple[ProcessPoolExecutor, threading.Thread]] = []
_KEPT_LOCK = threading.Lock()


def _keep_until_done(executor: ProcessPoolExecutor) -> None:
    manager = getattr(executor, "_executor_manager_thread", None)  # shutdown forgets it
    with _KEPT_LOCK:
        _KEPT[:] = [(e, t) for e, t in _KEPT if t.is_alive()]
        if manager is not None and manager.is_alive():
            _KEPT.append((executor, manager))


def _end(procs) -> None:
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(5)


def chunk_size_for(runs: int, jobs: int) -> int:
    """Ten to a hundred runs per task, at least 16 tasks per worker: enough runs to amortise
    the per-task overhead (tens of milliseconds against a run's tens), enough tasks that the
    workers finish together (the last task is at most a sixteenth of a worker's share), keep
    the progress bar moving and lose little work when stopped."""
    return max(10, min(100, math.ceil(runs / max(jobs * 16, 1))))


def default_executor(jobs: int) -> Executor | None:
    """None (run in the calling process) for one job, else a :class:`LocalPool`: jobs - 1
    spawn worker processes and a thread of the calling process."""
    if jobs <= 1:
        return None
    return LocalPool(jobs)
