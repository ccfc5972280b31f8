"""Timing helpers: paired rounds in shuffled order, medians."""
import random
import statistics
import time


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def paired_rounds(contenders, rounds, seed=1):
    """Time each contender once per round, in a shuffled order; return {name: [seconds per round]}.

    `contenders` maps a name to a function of no arguments that prepares its
    input and returns the action to time (so preparation is not timed).
    """
    order_rng = random.Random(seed)
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        names = list(contenders)
        order_rng.shuffle(names)
        for name in names:
            action = contenders[name]()
            times[name].append(timed(action))
    return times


def median_ratio(numerators, denominators):
    """Median over rounds of numerator/denominator, each pair from the same round."""
    return statistics.median(n / d for n, d in zip(numerators, denominators))
