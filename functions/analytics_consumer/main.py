"""Lambda handler of analytics_consumer: wiring only; the work is in the analytics_consumer package."""
import functools
import os

import boto3
from botocore.config import Config

from analytics_consumer.drain import drain
from analytics_consumer.log import log
from analytics_consumer.settings import WORKER_CONNECT_TIMEOUT_SECONDS, settings_from_env
from analytics_consumer.stream_guard import EventSourceMapping, guard_stream
from analytics_consumer.worker_invoke import lambda_invoker


@functools.cache
def sqs_client(streams: int):
    """An SQS client with a connection for every receive stream, delete thread and release at once."""
    return boto3.client("sqs", config=Config(max_pool_connections=2 * streams + 2))


@functools.cache
def lambda_client(read_timeout_seconds: int, parallel_calls: int):
    """A Lambda client that waits out one worker call and never retries it (a retry could outlive the run)."""
    return boto3.client(
        "lambda",
        config=Config(
            read_timeout=read_timeout_seconds,
            connect_timeout=WORKER_CONNECT_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1},
            max_pool_connections=max(10, parallel_calls),
        ),
    )


@functools.cache
def mapping_client():
    """A Lambda client for the event source mapping's state (stream mode), with boto3's usual retries."""
    return boto3.client("lambda")


@log.lambda_call
def main(event, context):
    settings = settings_from_env(os.environ)
    invoke = lambda_invoker(
        lambda_client(settings.worker_read_timeout_seconds, settings.max_parallel_workers),
        settings.worker_function,
    )
    if settings.stream_mapping_uuid:  # stream mode: Lambda's poller feeds the worker; this run guards it
        result = guard_stream(invoke, EventSourceMapping(mapping_client(), settings.stream_mapping_uuid), log=log)
        log.info("analytics_consumer stream guard finished", **result)
        return result
    summary = drain(
        sqs_client(settings.sqs_streams), settings, invoke, time_left_ms=context.get_remaining_time_in_millis, log=log
    ).as_dict()
    log.info("analytics_consumer run finished", **summary)
    return summary
