"""Overlapping batches stored by several processes at once, each in its own order (used by test_worker_concurrency).

Every process stores, in each round, the round's shared events and shared garbage plus events of its own;
process k takes them in a different order (odd processes reversed, others rotated), and all processes start
each round together (a barrier), so their transactions overlap on the shared rows.
"""
import json
import multiprocessing
from dataclasses import dataclass

import psycopg2


@dataclass(frozen=True)
class Plan:
    url: str
    schema: str
    processes: int
    rounds: int
    shared_events: int
    own_events: int
    shared_rejects: int

    def unique_events(self):
        return self.rounds * (self.shared_events + self.processes * self.own_events)

    def unique_rejects(self):
        return self.rounds * self.shared_rejects


def batch(plan, round_number, process):
    """The items of one process in one round, in that process's order."""
    def body(event_id):
        return json.dumps({"event_id": event_id, "event_timestamp": "2026-11-28T10:15:00Z", "event_type": "t"})

    shared = [body(f"r{round_number}-s{i}") for i in range(plan.shared_events)]
    shared += [f"r{round_number} garbage {i}" for i in range(plan.shared_rejects)]
    own = [body(f"r{round_number}-p{process}-{i}") for i in range(plan.own_events)]
    if process % 2:
        shared.reverse()
    elif process:
        shift = len(shared) * process // plan.processes
        shared = shared[shift:] + shared[:shift]
    return own[: len(own) // 2] + shared + own[len(own) // 2:]


def _store_rounds(plan, process, barrier, results):
    from analytics_worker.store import store_batch  # imported in the child process

    connection = psycopg2.connect(plan.url)
    try:
        for round_number in range(plan.rounds):
            items = batch(plan, round_number, process)
            barrier.wait(timeout=600)
            try:
                results.put((process, round_number, "ok", store_batch(connection, plan.schema, items).as_dict()))
            except psycopg2.Error as error:
                results.put((process, round_number, type(error).__name__, str(error).splitlines()[0]))
    finally:
        connection.close()


def run(plan):
    """Run every round in every process; return [(process, round, outcome, counts or error)]."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(plan.processes)
    results = context.Queue()
    workers = [context.Process(target=_store_rounds, args=(plan, k, barrier, results)) for k in range(plan.processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=1800) for _ in range(plan.processes * plan.rounds)]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes
