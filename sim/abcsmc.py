"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), deterministic and
resumable.

The algorithm is ABC population Monte Carlo (Beaumont, Cornuet, Marin and Robert 2009; Toni et
al. 2009), over a uniform prior on a box:

* population 0 draws ``particles`` parameter vectors from the prior and keeps them all;
* population t > 0 has a tolerance ``epsilon_t``, the weighted ``quantile`` of the distances of
  population t - 1 (an adaptive schedule, as in Del Moral et al. 2012 and pyabc's
  ``QuantileEpsilon``). Candidates are drawn by picking a particle of population t - 1 by its
  weight and moving it by a Gaussian kernel whose covariance is twice the population's weighted
  covariance (Beaumont et al. 2009); a candidate outside the prior's box is drawn again (the
  particle and the move), at no cost in model runs. A candidate is evaluated (its distance to
  the data) and accepted when the distance is at most epsilon_t, until ``particles`` are
  accepted;
* an accepted particle's importance weight is ``prior(theta) / sum_j W_j K(theta | theta_j)``
  (the prior is uniform, so it is one over the mixture density of the proposal).

As the tolerance falls the population approaches the posterior ``p(theta | d(x, x_obs) <=
epsilon)``. The run stops after ``populations`` populations, when the next population's batch
would take the evaluations past the ``budget``, when a population accepts fewer than
``min_acceptance`` of its candidates, or when epsilon reaches ``epsilon``.

Determinism: candidates are proposed and evaluated in batches of ``batch`` (default
``particles``) whose draws come from ``SeedSequence([seed tag, seed], spawn_key=(t, b))``, and a
population keeps the first ``particles`` accepted candidates in the order they were proposed. A
batch is evaluated as a whole (`evaluate` gets the batch and the global index of its first
evaluation, from which a stochastic model seeds each evaluation), so the result depends on the
seed alone: not on how the evaluations are spread over workers. Every evaluated batch and every
finished population goes to a :class:`Store` as it completes; a rerun with the same store
skips what is there, so an interrupted calibration resumed gives exactly the populations of an
uninterrupted one, and a larger budget continues where a smaller one stopped.

pyabc was not used: its parallel samplers accept particles in the order workers finish them,
so the posterior depends on the number of workers and on timing; it keeps its populations in
an SQL database and seeds NumPy's global generator; and it brings about thirty packages
(IPython, Jupyter's kernel, Redis, SQLAlchemy, scikit-learn).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["Batch", "Box", "MemoryStore", "Population", "SMCResult", "Settings", "Store",
           "abc_smc", "weighted_quantile"]

_SEED_TAG = 0xABC5_3C  # separates the proposal streams from any other use of the seed


# ============================================================================ pieces
@dataclass(frozen=True)
class Box:
    """A uniform prior on the box ``low <= theta <= high`` (one entry per parameter)."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.low) != len(self.high) or not self.low:
            raise ValueError("a box needs as many lows as highs, at least one")
        if any(not lo < hi for lo, hi in zip(self.low, self.high, strict=True)):
            raise ValueError("every low must be below its high")

    @property
    def dim(self) -> int:
        return len(self.low)

    def contains(self, theta: np.ndarray) -> np.ndarray:
        return np.all((theta >= np.asarray(self.low)) & (theta <= np.asarray(self.high)),
                      axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = np.asarray(self.low), np.asarray(self.high)
        return lo + (hi - lo) * rng.random((n, self.dim))


@dataclass(frozen=True)
class Settings:
    """What an ABC-SMC run does (see the module). ``budget``: the most evaluations (None: no
    limit); ``batch``: candidates evaluated at once (None: ``particles``)."""

    particles: int = 100
    quantile: float = 0.5
    populations: int = 8
    budget: int | None = None
    min_acceptance: float = 0.02
    epsilon: float = 0.0
    seed: int = 0
    batch: int | None = None

    def __post_init__(self) -> None:
        if self.particles < 2:
            raise ValueError("particles: expected at least 2")
        if not 0 < self.quantile < 1:
            raise ValueError("quantile: expected a number between 0 and 1")
        if self.populations < 1:
            raise ValueError("populations: expected at least 1")
        if self.batch is not None and self.batch < 1:
            raise ValueError("batch: expected at least 1")

    @property
    def batch_size(self) -> int:
        return self.batch or self.particles


@dataclass(frozen=True)
class Batch:
    """Candidates of population `t` evaluated together: their parameters, distances and the
    global index of the first evaluation."""

    t: int
    b: int
    first: int
    theta: np.ndarray
    distances: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "b": self.b, "first": self.first, "theta": self.theta.tolist(),
                "distances": [_num(x) for x in self.distances]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Batch:
        return cls(int(d["t"]), int(d["b"]), int(d["first"]),
                   np.asarray(d["theta"], dtype=float),
                   np.asarray([math.inf if x is None else x for x in d["distances"]], float))


@dataclass(frozen=True)
class Population:
    """A finished population: `theta` (particles x parameters), normalised `weights`,
    `distances`, its tolerance `epsilon` (inf for population 0) and the evaluations it took."""

    t: int
    epsilon: float
    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    evaluations: int

    @property
    def acceptance(self) -> float:
        return len(self.weights) / self.evaluations if self.evaluations else math.nan

    @property
    def ess(self) -> float:
        """Effective sample size, ``1 / sum w^2``."""
        return float(1.0 / np.sum(self.weights ** 2))

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "epsilon": _num(self.epsilon), "evaluations": self.evaluations,
                "theta": self.theta.tolist(), "weights": self.weights.tolist(),
                "distances": [_num(x) for x in self.distances]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Population:
        eps = math.inf if d["epsilon"] is None else float(d["epsilon"])
        return cls(int(d["t"]), eps, np.asarray(d["theta"], dtype=float),
                   np.asarray(d["weights"], dtype=float),
                   np.asarray([math.inf if x is None else x for x in d["distances"]], float),
                   int(d["evaluations"]))


def _num(x: float) -> float | None:
    """JSON has no infinity: None stands for it."""
    x = float(x)
    return x if math.isfinite(x) else None


class Store(Protocol):
    """Where batches and populations are kept as they complete (a folder, or memory)."""

    def batch(self, t: int, b: int) -> Batch | None: ...
    def save_batch(self, batch: Batch) -> None: ...
    def populations(self) -> list[Population]: ...
    def save_population(self, pop: Population) -> None: ...


class MemoryStore:
    """A :class:`Store` in memory."""

    def __init__(self) -> None:
        self.batches: dict[tuple[int, int], Batch] = {}
        self.pops: list[Population] = []

    def batch(self, t: int, b: int) -> Batch | None:
        return self.batches.get((t, b))

    def save_batch(self, batch: Batch) -> None:
        self.batches[batch.t, batch.b] = batch

    def populations(self) -> list[Population]:
        return list(self.pops)

    def save_population(self, pop: Population) -> None:
        self.pops.append(pop)


@dataclass(frozen=True)
class SMCResult:
    """The populations (the last is the posterior sample), the evaluations made in all, and
    why the run stopped: ``populations``, ``budget``, ``acceptance`` or ``epsilon``."""

    populations: list[Population]
    evaluations: int
    stopped: str

    @property
    def posterior(self) -> Population:
        return self.populations[-1]


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of `x` under weights `w`: the inverse of the weighted empirical CDF (the least
    value whose cumulative weight reaches q), so always one of the values."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cdf = np.cumsum(w[order]) / w.sum()
    idx = np.searchsorted(cdf, np.asarray(q, float) - 1e-12, side="left")
    return xs[np.minimum(idx, len(xs) - 1)]


# ============================================================================ the algorithm
Evaluate = Callable[[np.ndarray, int], np.ndarray]


class _Kernel:
    """The proposal of population t: the previous population moved by a Gaussian of twice its
    weighted covariance."""

    def __init__(self, prev: Population, box: Box) -> None:
        self.prev, self.box = prev, box
        cov = 2.0 * np.atleast_2d(np.cov(prev.theta.T, aweights=prev.weights, ddof=0))
        width = np.asarray(box.high) - np.asarray(box.low)
        cov = cov + np.diag((1e-9 * width) ** 2)  # a population collapsed on a point
        self.chol = np.linalg.cholesky(cov)
        self.inv_chol = np.linalg.inv(self.chol)
        self.log_norm = -np.log(np.diag(self.chol)).sum() - 0.5 * box.dim * math.log(2 * math.pi)

    def propose(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out: list[np.ndarray] = []
        have, tries = 0, 0
        while have < n:
            tries += 1
            if tries > 10_000:
                raise RuntimeError("the kernel keeps proposing outside the prior's box")
            m = max(2 * (n - have), 16)
            j = rng.choice(len(self.prev.weights), size=m, p=self.prev.weights)
            cand = self.prev.theta[j] + rng.standard_normal((m, self.box.dim)) @ self.chol.T
            cand = cand[self.box.contains(cand)][: n - have]
            out.append(cand)
            have += len(cand)
        return np.concatenate(out)

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """Importance weights (normalised) of accepted particles under the uniform prior."""
        z = (theta[:, None, :] - self.prev.theta[None, :, :]) @ self.inv_chol.T
        logk = self.log_norm - 0.5 * np.sum(z * z, axis=2)  # (new, old)
        logq = np.log(self.prev.weights)[None, :] + logk
        mx = logq.max(axis=1, keepdims=True)
        log_mix = mx[:, 0] + np.log(np.exp(logq - mx).sum(axis=1))
        logw = -log_mix
        w = np.exp(logw - logw.max())
        return w / w.sum()


def _rng(settings: Settings, t: int, b: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([_SEED_TAG, settings.seed],
                                                        spawn_key=(t, b)))


def abc_smc(evaluate: Evaluate, box: Box, settings: Settings, store: Store | None = None,
            progress: Callable[[Population], None] | None = None) -> SMCResult:
    """Run (or resume from `store`) ABC-SMC; see the module.

    `evaluate(theta, first)` returns the distance of each row of `theta` (candidates x
    parameters) to the data; `first` is the global index of the first row's evaluation (a
    stochastic model seeds evaluation ``first + i`` from it). `progress` is called with each
    population as it completes (also with those read back from the store)."""
    store = store if store is not None else MemoryStore()
    pops = store.populations()
    used = sum(p.evaluations for p in pops)
    for p in pops:
        if progress:
            progress(p)
    n = settings.particles
    while True:
        t = len(pops)
        if t >= settings.populations:
            return SMCResult(pops, used, "populations")
        if t and pops[-1].acceptance < settings.min_acceptance:
            return SMCResult(pops, used, "acceptance")
        eps = math.inf
        kernel = None
        if t:
            prev = pops[-1]
            eps = float(weighted_quantile(prev.distances, prev.weights, settings.quantile))
            if prev.epsilon <= settings.epsilon:
                return SMCResult(pops, used, "epsilon")
            if eps >= prev.epsilon:  # distances tie at the tolerance: the quantile cannot fall
                below = prev.distances[prev.distances < prev.epsilon]
                if not len(below):
                    return SMCResult(pops, used, "stalled")
                eps = float(below.max())  # the next distance down, so each population tightens
            kernel = _Kernel(prev, box)
        acc_theta: list[np.ndarray] = []
        acc_dist: list[float] = []
        evals, b = 0, 0
        while len(acc_dist) < n:
            if t and evals and len(acc_dist) / evals < settings.min_acceptance and \
                    evals >= n / settings.min_acceptance:
                return SMCResult(pops, used, "acceptance")
            batch = store.batch(t, b)
            size = len(batch.theta) if batch is not None else settings.batch_size
            if settings.budget is not None and used + size > settings.budget:
                return SMCResult(pops, used, "budget")
            if batch is None:
                rng = _rng(settings, t, b)
                theta = box.sample(rng, size) if kernel is None else kernel.propose(rng, size)
                dist = np.asarray(evaluate(theta, used), dtype=float)
                if dist.shape != (size,):
                    raise ValueError(f"evaluate returned {dist.shape}, expected ({size},)")
                batch = Batch(t, b, used, theta, dist)
                store.save_batch(batch)
            used += size
            evals += size
            for th, d in zip(batch.theta, batch.distances, strict=True):
                if d <= eps and math.isfinite(d) and len(acc_dist) < n:  # inf: no distance
                    acc_theta.append(th)
                    acc_dist.append(float(d))
            b += 1
        theta = np.asarray(acc_theta)
        w = np.full(n, 1.0 / n) if kernel is None else kernel.weights(theta)
        # the evaluations a population took: up to its last accepted candidate's batch
        pop = Population(t, eps, theta, w, np.asarray(acc_dist), evals)
        store.save_population(pop)
        pops.append(pop)
        if progress:
            progress(pop)
