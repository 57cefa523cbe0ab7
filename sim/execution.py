"""Where runs execute and how a results folder is started, checked and resumed.

Shared by ``negsim run`` and ``negsim sweep``:

* :func:`open_executor` gives the executor for ``--jobs`` / ``--scheduler`` (a spawn process
  pool, a Dask ``LocalCluster`` or a remote Dask scheduler) and closes it afterwards;
* :func:`start_folder` writes a new manifest, or with ``resume`` checks the folder's manifest
  against this invocation (:func:`manifest_mismatches`) and returns the one in force;
* :func:`resume_command` is the exact command that finishes an interrupted run.

None of this imports the command line: errors are :class:`ExecutionSetupError` and
:class:`ResumeError`, which the command line turns into exit code 2. Nor does it import the
runner (Mesa, pandas) before it is needed: the command line opens the executor first, so that
the workers import while this process does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from sim.pool import LocalPool, default_executor, sigint_deferred

__all__ = [
    "MATCH_KEYS",
    "ExecutionSetupError",
    "ResumeError",
    "finish_folder",
    "manifest_mismatches",
    "open_executor",
    "resume_command",
    "start_folder",
]

#: How long to try to reach a remote Dask scheduler.
CONNECT_TIMEOUT = "10s"

#: Manifest fields a resume must match: they decide which runs exist and what they compute.
MATCH_KEYS = ("kind", "scenario_digest", "overrides", "design", "seed", "runs", "steps")


class ExecutionSetupError(Exception):
    """The executor could not be set up (a bad --scheduler address, say)."""


class ResumeError(Exception):
    """The folder cannot be resumed by this command (no manifest, or a different experiment)."""


# ---------------------------------------------------------------------- executors
@contextlib.contextmanager
def open_executor(jobs: int = 1, scheduler: str | None = None,
                  ) -> Iterator[Executor | None]:
    """The executor for ``--jobs J`` / ``--scheduler ADDR``, closed on exit.

    * no scheduler: None (this process) for one job, else a :class:`~sim.pool.LocalPool` of
      `jobs` lanes (a thread of this process and `jobs` - 1 spawned workers);
    * ``"local"``: a Dask ``LocalCluster`` on this machine (`jobs` worker processes, one
      thread each, no dashboard);
    * an address (``tcp://host:8786``): the executor of ``distributed.Client(address)``; the
      workers need negsim installed.
    """
    if scheduler is None:
        ex = default_executor(jobs)
        try:
            yield ex
        except BaseException:
            if isinstance(ex, LocalPool):  # not waiting for workers still starting
                ex.stop()
            raise
        finally:
            if ex is not None:
                ex.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise ExecutionSetupError(f"--scheduler needs dask[distributed] ({exc})") from None
    cluster = None
    try:
        if scheduler == "local":
            # The workers inherit SIGINT blocked: Ctrl-C is the parent's to handle. Their logs
            # are silenced: a task's error comes back through its future, the rest is noise
            # from shutdown races after a Ctrl-C.
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
    except BaseException:  # a Ctrl-C (raised when the cluster's workers have started)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        raise
    try:
        # pure=False: chunks are distinct work, not something to deduplicate by hashing
        yield client.get_executor(pure=False)
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


# ---------------------------------------------------------------------- folders
def _norm(key: str, value: Any) -> Any:
    if key == "overrides" and isinstance(value, list):
        return sorted(map(str, value))
    return json.loads(json.dumps(value, default=str))


def manifest_mismatches(old: dict[str, Any], new: dict[str, Any],
                        keys: Sequence[str] = MATCH_KEYS) -> list[str]:
    """What differs between a folder's manifest and this invocation's (empty: resumable)."""
    out = []
    for k in keys:
        a, b = _norm(k, old.get(k)), _norm(k, new.get(k))
        if a != b:
            what = {"scenario_digest": "scenario digest (the scenario file or a --set changed)"
                    }.get(k, k)
            out.append(f"{what}: the folder has {_show(a)}, this command gives {_show(b)}")
    return out


def _show(v: Any) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 200 else text[:197] + "..."


def start_folder(folder: Path, manifest: dict[str, Any], *, resume: bool) -> dict[str, Any]:
    """Start a results folder, or check it for a resume; return the manifest in force.

    New: `folder` must not hold results; the manifest is written. Resume: the folder's
    ``manifest.json`` must match `manifest` on :data:`MATCH_KEYS`, else ResumeError listing the
    differences; the folder's manifest is returned, keeping its ``chunk_size`` (so finished
    chunks are recognised) and recording the resume.
    """
    from sim.runner import atomic_json

    mpath = folder / "manifest.json"
    if not resume:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_json(manifest, mpath)
        return manifest
    if not folder.is_dir():
        raise ResumeError(f"--resume: {folder} does not exist; give the --out folder of the "
                          "interrupted run")
    try:
        old = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResumeError(f"--resume: {folder} has no manifest.json; it is not a negsim "
                          "results folder") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ResumeError(f"--resume: cannot read {mpath} ({exc})") from None
    diffs = manifest_mismatches(old, manifest)
    if diffs:
        raise ResumeError(f"--resume: {folder} holds a different experiment; refusing to mix "
                          "results:\n  " + "\n  ".join(diffs)
                          + "\nRun it with the same options, or use a new --out folder.")
    resumed = {**old, "resumed": [*old.get("resumed", []), manifest.get("created")]}
    for k in ("command", "packages"):
        if k in manifest:
            resumed[f"last_{k}"] = manifest[k]
    if old.get("code_version") != manifest.get("code_version"):
        resumed.setdefault("code_versions", [old.get("code_version")])
        resumed["code_versions"].append(manifest.get("code_version"))
    atomic_json(resumed, mpath)
    return resumed


def finish_folder(folder: Path, manifest: dict[str, Any], **fields: Any) -> None:
    """Mark the folder complete (after the tables are assembled), then drop the part files."""
    import shutil

    from sim.runner import atomic_json

    manifest.update(fields)
    manifest["complete"] = True
    atomic_json(manifest, folder / "manifest.json")
    shutil.rmtree(folder / "parts", ignore_errors=True)


def resume_command(args: Sequence[str], folder: Path, program: str = "negsim") -> str:
    """The command that resumes: `args` (the command's arguments) with ``--out folder
    --resume``, replacing any ``--out``; shell-quoted."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--out":
            skip = True
            continue
        if a.startswith("--out=") or a == "--resume":
            continue
        out.append(str(a))
    return shlex.join([program, *out, "--out", str(folder), "--resume"])
