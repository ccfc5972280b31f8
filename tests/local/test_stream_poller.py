"""The local stack's stream poller: what it deletes after the worker's answer (moto's SQS in-process)."""
import threading

import boto3
import pytest
from moto import mock_aws

from ops.local_stack.stream_poller import StreamPoller


@pytest.fixture
def queue():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-central-1")
        url = sqs.create_queue(QueueName="stream_test", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        for start in range(0, 25, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": f"body-{i}"} for i in range(start, min(start + 10, 25))
            ])
        yield sqs, url


def messages_left(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def poller(sqs, url, handle_event, batch_size=25, window=0.5):
    return StreamPoller(sqs, url, "arn:aws:sqs:eu-central-1:123456789012:stream_test", "eu-central-1", handle_event,
                        batch_size, window, say=lambda text: None)


def test_an_acknowledged_batch_is_deleted_and_the_worker_saw_sqs_records(queue):
    sqs, url = queue
    seen = []

    def worker(event):
        seen.extend(event["Records"])
        return {"processed": len(event["Records"]), "stored": len(event["Records"]), "duplicates": 0, "rejected": 0,
                "batchItemFailures": []}

    summary = poller(sqs, url, worker).poll_once()
    assert summary["received"] == summary["deleted"] == 25 and summary["stored"] == 25
    assert {record["eventSource"] for record in seen} == {"aws:sqs"}
    assert sorted(record["body"] for record in seen) == sorted(f"body-{i}" for i in range(25))
    assert messages_left(sqs, url) == 0


def test_a_batch_whose_worker_call_raises_is_left_whole(queue):
    sqs, url = queue

    def worker(event):
        raise ConnectionError("database down")

    summary = poller(sqs, url, worker).poll_once()
    assert (summary["received"], summary["deleted"], summary["failed_batches"]) == (25, 0, 1)
    assert messages_left(sqs, url) == 25


def test_exactly_the_reported_failed_items_are_left(queue):
    sqs, url = queue
    failed_bodies = []

    def worker(event):
        failed = event["Records"][::3]
        failed_bodies.extend(record["body"] for record in failed)
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in failed]}

    summary = poller(sqs, url, worker).poll_once()
    assert summary["deleted"] == 25 - len(failed_bodies) and summary["failed_items"] == len(failed_bodies) == 9
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert int(visible["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) == 9


def test_an_answer_naming_an_unknown_message_fails_the_whole_batch(queue):
    sqs, url = queue
    summary = poller(sqs, url, lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}).poll_once()
    assert (summary["deleted"], summary["failed_batches"]) == (0, 1)
    assert messages_left(sqs, url) == 25


def test_a_batch_is_handed_over_when_the_window_passes_before_it_is_full(queue):
    sqs, url = queue
    sizes = []

    def worker(event):
        sizes.append(len(event["Records"]))
        return {"batchItemFailures": []}

    # GIVEN a batch size larger than the queue WHEN the poller runs THEN the window ends the batch with what it has
    stop = threading.Event()
    runner = poller(sqs, url, worker, batch_size=1000, window=0.5)
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    for _ in range(100):
        if runner.totals["deleted"] == 25:
            break
        stop.wait(0.1)
    stop.set()
    thread.join(timeout=10)
    assert sum(sizes) == 25 and messages_left(sqs, url) == 0


def test_a_stop_closes_the_batch_in_hand_without_waiting_for_the_window(queue):
    sqs, url = queue
    stop, sizes = threading.Event(), []

    class StopAfterFirstReceive:  # the stop arrives while the poller gathers
        def __getattr__(self, name):
            return getattr(sqs, name)

        def receive_message(self, **kwargs):
            response = sqs.receive_message(**kwargs)
            stop.set()
            return response

    def worker(event):
        sizes.append(len(event["Records"]))
        return {"batchItemFailures": []}

    # GIVEN a poller gathering batches of 25 within a 300 s window
    runner = StreamPoller(StopAfterFirstReceive(), url, "arn:aws:sqs:eu-central-1:123456789012:stream_test",
                          "eu-central-1", worker, 25, 300, say=lambda text: None)
    # WHEN the stop is set after its first receive
    summary = runner.poll_once(stop)
    # THEN the batch in hand (one receive's 10) goes to the worker and is deleted; the rest stay queued
    assert sizes == [10] and summary["deleted"] == 10
    assert messages_left(sqs, url) == 15
