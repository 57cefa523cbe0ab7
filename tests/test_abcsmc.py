"""ABC-SMC (sim.abcsmc) against a known posterior: a binomial rate under a uniform prior;
deterministic, and resumed exactly from its store."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.abcsmc import Box, MemoryStore, Settings, abc_smc, weighted_quantile

K, N = 7, 20  # 7 successes in 20 trials; the rate's prior is uniform on [0, 1]


def binomial_distance(theta: np.ndarray, first: int) -> np.ndarray:
    """|k - K| / N for k ~ Binomial(N, p); a batch is seeded by its first evaluation's index
    (batches are the same whatever the workers, so this is deterministic)."""
    rng = np.random.default_rng([12345, first])
    return np.abs(rng.binomial(N, theta[:, 0]) - K) / N


def test_weighted_quantile_is_the_inverse_weighted_cdf():
    x = np.array([3.0, 1.0, 2.0, 10.0])
    assert weighted_quantile(x, np.ones(4), [0.25, 0.5, 0.51, 1]).tolist() == [1, 2, 3, 10]
    w = np.array([0.0, 0.0, 0.0, 1.0])  # all the weight on 10
    assert weighted_quantile(x, w + 1e-12, [0.1, 0.9]).tolist() == pytest.approx([10, 10])


def _matches(pop, cdf, mean: float, sd: float) -> None:
    """A population's weighted particles against an exact posterior (its cdf, mean and sd)."""
    assert pop.weights.sum() == pytest.approx(1.0)
    assert np.all(np.abs(pop.distances) <= pop.epsilon + 1e-12)
    x = pop.theta[:, 0]
    m = np.sum(pop.weights * x)
    assert m == pytest.approx(mean, abs=0.015)
    assert np.sqrt(np.sum(pop.weights * (x - m) ** 2)) == pytest.approx(sd, abs=0.012)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert cdf(weighted_quantile(x, pop.weights, q)) == pytest.approx(q, abs=0.04)
    assert pop.ess > 600  # the importance weights are not degenerate


def test_abc_smc_recovers_the_binomial_posterior():
    """The tolerance falls through the multiples of 1/20 the distances take. At |k - 7| <= 1
    the exact ABC posterior is the equal mixture of Beta(7, 15), Beta(8, 14) and Beta(9, 13);
    at 0, k = 7 exactly, it is the true posterior Beta(8, 14), where the run stops."""
    res = abc_smc(binomial_distance, Box((0.0,), (1.0,)),
                  Settings(particles=1000, populations=7, seed=3))
    assert [round(p.epsilon, 3) for p in res.populations] == [np.inf, 0.25, 0.15, 0.1, 0.05,
                                                              0.0]
    assert res.stopped == "epsilon"
    mix = [stats.beta(a, 22 - a) for a in (7, 8, 9)]
    _matches(res.populations[4], lambda x: float(np.mean([b.cdf(x) for b in mix])),
             8 / 22, 0.1067)
    exact = stats.beta(8, 14)
    _matches(res.posterior, exact.cdf, exact.mean(), exact.std())


def test_abc_smc_resumes_exactly_and_a_larger_budget_continues():
    box, s = Box((0.0,), (1.0,)), Settings(particles=50, populations=6, seed=9)
    whole = abc_smc(binomial_distance, box, s)
    # a budget that ends inside population 3, then the rest with the same store
    store = MemoryStore()
    part = abc_smc(binomial_distance, box, Settings(**{**s.__dict__, "budget": 180}), store)
    assert part.stopped == "budget" and part.evaluations <= 180
    assert len(part.populations) < len(whole.populations)
    calls = []

    def counting(theta, first):
        calls.append(first)
        return binomial_distance(theta, first)

    rest = abc_smc(counting, box, s, store)
    assert min(calls) >= part.evaluations  # nothing evaluated twice
    assert rest.evaluations == whole.evaluations
    for a, b in zip(rest.populations, whole.populations, strict=True):
        assert a.epsilon == b.epsilon
        np.testing.assert_array_equal(a.theta, b.theta)
        np.testing.assert_array_equal(a.weights, b.weights)
    # an interruption after a population (its later batches lost) resumes to the same end
    store.pops = store.pops[:2]
    store.batches = {k: v for k, v in store.batches.items() if k[0] < 2}
    again = abc_smc(binomial_distance, box, s, store)
    np.testing.assert_array_equal(again.posterior.theta, whole.posterior.theta)
    # another seed gives another sample
    other = abc_smc(binomial_distance, box, Settings(**{**s.__dict__, "seed": 10}))
    assert not np.array_equal(other.posterior.theta, whole.posterior.theta)


def test_the_kernel_keeps_proposals_inside_the_prior():
    box = Box((0.0, 10.0), (1.0, 20.0))

    def near_corner(theta, first):  # pulls the particles to a corner of the box
        return np.abs(theta[:, 0] - 0.0) + np.abs(theta[:, 1] - 20.0) / 10

    res = abc_smc(near_corner, box, Settings(particles=200, populations=5, seed=1))
    for p in res.populations:
        assert box.contains(p.theta).all()
    assert res.posterior.epsilon < res.populations[1].epsilon


def test_the_tolerance_falls_when_distances_tie():
    """Coarse distances (a few runs' scores) tie: most particles sit exactly at the tolerance,
    so its quantile cannot fall below it. Each population still tightens, to the next distance
    down, until no particle is below the tolerance, and then the run says it stalled."""
    def coarse(theta, first):  # distance in steps of 0.25: 0 near p = 0.5
        return np.round(np.abs(theta[:, 0] - 0.5) * 4) / 4

    res = abc_smc(coarse, Box((0.0,), (1.0,)),
                  Settings(particles=40, populations=6, quantile=0.9, seed=2))
    eps = [p.epsilon for p in res.populations[1:]]
    assert all(b < a for a, b in zip(eps, eps[1:], strict=False)), eps
    assert res.posterior.epsilon == 0.0 or res.stopped in ("stalled", "epsilon")


def test_an_evaluation_without_a_distance_is_never_accepted():
    """A failed evaluation has distance inf: not even population 0 (tolerance inf) takes it."""
    def half_fail(theta, first):
        d = np.abs(theta[:, 0] - 0.5)
        d[theta[:, 0] > 0.8] = np.inf
        return d

    res = abc_smc(half_fail, Box((0.0,), (1.0,)), Settings(particles=50, populations=3, seed=1))
    for p in res.populations:
        assert np.isfinite(p.distances).all() and (p.theta[:, 0] <= 0.8).all()
