"""The names and queue settings of the local stack, read from the Terraform code so they cannot drift.

Names: the stage root infrastructure/dev/main.tf (topic `event_created_${local.stage}`), the shared
root infrastructure/shared/main.tf (schema `analytics_${each.key}`, made there for every stage) and the
module analytics_queue (queue, DLQ, function names).
Settings: the defaults of infrastructure/modules/analytics_queue/variables.tf and the literal
attributes of its main.tf (long-poll wait, raw message delivery).
"""
import functools
from dataclasses import dataclass

from ops.functions import ROOT
from ops.hcl import blocks, load, resource, unquote

QUEUE_MODULE = ROOT / "infrastructure" / "modules" / "analytics_queue"
STAGE_ROOT = ROOT / "infrastructure" / "dev"  # every stage root is the same but for its stage name
SHARED_ROOT = ROOT / "infrastructure" / "shared"  # makes every stage's schema and roles


def _name(template, stage, variable):
    """`"analytics_events_${var.stage}"` -> `analytics_events_local`."""
    return unquote(template).replace("${" + variable + "}", stage)


@dataclass(frozen=True)
class StackSpec:
    stage: str
    topic_name: str
    queue_name: str
    dlq_name: str
    schema: str
    worker_function_name: str
    consumer_function_name: str
    max_receive_count: int
    message_retention_seconds: int
    dlq_message_retention_seconds: int
    visibility_timeout_seconds: int
    receive_wait_time_seconds: int
    raw_message_delivery: bool
    consumer_timeout_seconds: int
    worker_timeout_seconds: int
    schedule_expression: str
    stream_batch_size: int
    stream_batching_window_seconds: float
    stream_maximum_concurrency: int

    def queue_attributes(self):
        """SQS CreateQueue attributes of the queue, without the redrive policy (it needs the DLQ's ARN)."""
        return {
            "VisibilityTimeout": str(self.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(self.message_retention_seconds),
            "ReceiveMessageWaitTimeSeconds": str(self.receive_wait_time_seconds),
        }

    def dlq_attributes(self):
        return {"MessageRetentionPeriod": str(self.dlq_message_retention_seconds)}


@functools.cache
def stack_spec(stage="local"):
    variables = {name: body.get("default") for name, body in blocks(load(QUEUE_MODULE / "variables.tf"), "variable").items()}
    module_main = load(QUEUE_MODULE / "main.tf")
    module_locals = module_main["locals"][0]
    root = load(STAGE_ROOT / "main.tf")
    modules = blocks(root, "module")
    consumer_timeout, worker_timeout = int(variables["consumer_timeout"]), int(variables["worker_timeout"])
    visibility = variables["visibility_timeout_seconds"]
    if visibility is None:  # the module's local: coalesce(var.visibility_timeout_seconds, consumer * 2 + worker)
        visibility = consumer_timeout * 2 + worker_timeout
    queue = resource(module_main, "aws_sqs_queue", "this")
    subscription = resource(module_main, "aws_sns_topic_subscription", "this")
    return StackSpec(
        stage=stage,
        topic_name=_name(modules["messaging"]["topic_name"], stage, "local.stage"),
        queue_name=_name(module_locals["queue_name"], stage, "var.stage"),
        dlq_name=_name(module_locals["dlq_name"], stage, "var.stage"),
        schema=_name(blocks(load(SHARED_ROOT / "main.tf"), "module")["analytics_db"]["schema_name"], stage, "each.key"),
        worker_function_name=_name(module_locals["worker_name"], stage, "var.stage"),
        consumer_function_name=_name(module_locals["consumer_name"], stage, "var.stage"),
        max_receive_count=int(variables["max_receive_count"]),
        message_retention_seconds=int(variables["message_retention_seconds"]),
        dlq_message_retention_seconds=int(variables["dlq_message_retention_seconds"]),
        visibility_timeout_seconds=int(visibility),
        receive_wait_time_seconds=int(queue["receive_wait_time_seconds"]),
        raw_message_delivery=bool(subscription["raw_message_delivery"]),
        consumer_timeout_seconds=consumer_timeout,
        worker_timeout_seconds=worker_timeout,
        schedule_expression=unquote(variables["schedule_expression"]),
        stream_batch_size=int(variables["stream_batch_size"]),
        stream_batching_window_seconds=float(variables["stream_batching_window_seconds"]),
        stream_maximum_concurrency=int(variables["stream_maximum_concurrency"]),
    )
