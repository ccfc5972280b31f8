"""Concurrent worker calls whose batches overlap in opposite orders: no deadlock, each row once.

The standing run is small; the issue's full size (20 rounds, two processes, 20,000 events each) runs with
  CONCURRENCY_ROUNDS=20 CONCURRENCY_PROCESSES=2 CONCURRENCY_EVENTS=20000 CONCURRENCY_REJECTS=5000 \
  python3 -m pipenv run pytest tests/analytics_worker/test_worker_concurrency.py -s
"""
import collections
import os

import pytest

from concurrent_batches import Plan, run


@pytest.mark.slow
def test_overlapping_batches_in_opposite_orders_never_deadlock(migrated_db):
    # GIVEN several processes, each storing in every round the same events and garbage in its own order
    plan = Plan(
        url=migrated_db.url,
        schema=migrated_db.schema,
        processes=int(os.environ.get("CONCURRENCY_PROCESSES", "3")),
        rounds=int(os.environ.get("CONCURRENCY_ROUNDS", "5")),
        shared_events=int(os.environ.get("CONCURRENCY_EVENTS", "3000")),
        own_events=int(os.environ.get("CONCURRENCY_OWN_EVENTS", "200")),
        shared_rejects=int(os.environ.get("CONCURRENCY_REJECTS", "500")),
    )
    # WHEN they all run at once, round after round
    outcomes = run(plan)
    # THEN no call failed (no deadlock), and each event and each garbage text is one row
    failures = collections.Counter(outcome for _, _, outcome, _ in outcomes if outcome != "ok")
    print(f"\n{plan.rounds} rounds x {plan.processes} processes: failures {dict(failures)}, "
          f"rows {migrated_db.count('events')} of {plan.unique_events()} unique events")
    assert failures == {}, [o for o in outcomes if o[2] != "ok"][:3]
    assert migrated_db.count("events") == plan.unique_events()
    assert migrated_db.count("rejected_events") == plan.unique_rejects()
    # AND in each round the stored counts add up to the unique events, the rest being duplicates
    for round_number in range(plan.rounds):
        counts = [result for _, r, _, result in outcomes if r == round_number]
        assert sum(c["stored"] for c in counts) == plan.shared_events + plan.processes * plan.own_events
        assert all(c["processed"] == c["stored"] + c["duplicates"] + c["rejected"] for c in counts)
