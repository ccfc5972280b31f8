"""The local stack end to end: SNS (moto server) -> SQS -> consumer -> worker in-process -> Postgres."""
import json
import random


from local_fixtures import dumps, local_db, publish, stack  # noqa: F401 - fixtures
from ops import hcl
from ops.events import demo_events, invalid_event
from ops.local_stack.terraform import QUEUE_MODULE


def test_events_published_to_the_topic_are_all_accounted_for(stack):
    # GIVEN 120 valid events, 5 of them sent twice, and 3 invalid items, published to the local topic
    rng = random.Random(7)
    events = demo_events(120, rng)
    invalid = [dumps(invalid_event(kind, rng=rng)[0]) for kind in ("missing_event_id", "bad_timestamp", "not_an_object")]
    publish(stack, [dumps(e) for e in events + events[:5]] + invalid)
    # WHEN the consumer runs once
    summary = stack.drain_once()
    # THEN every message was received and acknowledged, each valid event is stored once, each invalid one rejected
    assert summary["received"] == 128 and summary["deleted"] == 128 and summary["failed_batches"] == 0
    assert (summary["stored"], summary["duplicates"], summary["rejected"]) == (120, 5, 3)
    db = local_db(stack)
    assert db.count("events") == 120
    assert db.count("rejected_events") == 3
    stored_ids = {row[0] for row in db.query(f'SELECT event_id FROM "{db.schema}".events')}
    assert stored_ids == {e["event_id"] for e in events}
    # AND the queue is empty: a second run finds nothing
    assert stack.drain_once()["received"] == 0


def test_the_queues_have_the_names_and_settings_of_the_terraform_module(stack):
    # GIVEN the defaults of the Terraform module analytics_queue
    defaults = {name: body.get("default") for name, body in hcl.blocks(hcl.load(QUEUE_MODULE / "variables.tf"), "variable").items()}
    # WHEN the local stack's queues are read back from moto
    sqs, sns = stack.client("sqs"), stack.client("sns")
    queue = sqs.get_queue_attributes(QueueUrl=stack.values["queue_url"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=stack.values["dlq_url"], AttributeNames=["All"])["Attributes"]
    # THEN names and settings agree with the module (and the stage roots' naming)
    assert stack.values["queue_url"].endswith("/analytics_events_local")
    assert stack.values["dlq_url"].endswith("/analytics_events_local_dlq")
    assert stack.values["topic_arn"].endswith(":event_created_local")
    assert stack.values["schema"] == "analytics_local"
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == defaults["max_receive_count"] == 5
    assert int(queue["MessageRetentionPeriod"]) == defaults["message_retention_seconds"]
    assert int(dlq["MessageRetentionPeriod"]) == defaults["dlq_message_retention_seconds"]
    assert int(queue["VisibilityTimeout"]) == defaults["consumer_timeout"] * 2 + defaults["worker_timeout"]
    assert int(queue["ReceiveMessageWaitTimeSeconds"]) == 20
    # (the DLQ's RedriveAllowPolicy is set too, but moto 5.2 does not answer GetQueueAttributes for it)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.values["topic_arn"])["Subscriptions"]
    assert [s["Endpoint"] for s in subscriptions] == [queue["QueueArn"]]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscriptions[0]["SubscriptionArn"])["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
