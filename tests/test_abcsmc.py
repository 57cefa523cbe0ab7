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


def test_abc_smc_recovers_the_binomial_posterior():
    """The tolerance falls to |k - 7| <= 1 (distances are multiples of 1/20), where the exact
    ABC posterior is the equal mixture of Beta(7, 15), Beta(8, 14) and Beta(9, 13)."""
    res = abc_smc(binomial_distance, Box((0.0,), (1.0,)),
                  Settings(particles=1000, populations=7, seed=3))
    assert [round(p.epsilon, 3) for p in res.populations[:4]] == [np.inf, 0.25, 0.15, 0.1]
    post = res.posterior
    assert post.epsilon == pytest.approx(0.05)
    assert post.weights.sum() == pytest.approx(1.0)
    assert np.all(np.abs(post.distances) <= 0.05 + 1e-12)
    mix = [stats.beta(a, 22 - a) for a in (7, 8, 9)]

    def cdf(x: float) -> float:
        return float(np.mean([b.cdf(x) for b in mix]))

    x = post.theta[:, 0]
    mean = np.sum(post.weights * x)
    sd = np.sqrt(np.sum(post.weights * (x - mean) ** 2))
    assert mean == pytest.approx(8 / 22, abs=0.015)       # the exact mean 0.3636
    assert sd == pytest.approx(0.1067, abs=0.012)          # the exact sd
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert cdf(weighted_quantile(x, post.weights, q)) == pytest.approx(q, abs=0.04)
    assert post.ess > 600  # the importance weights are not degenerate


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
