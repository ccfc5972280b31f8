"""Lambda handler of analytics_collector: wiring only; the work is in the analytics_collector package."""
import functools
import os

import boto3
from botocore.config import Config

from analytics_collector.collect import handle
from analytics_collector.http import request_from_event
from analytics_collector.keys import KeyRing, key_loader
from analytics_collector.log import log
from analytics_collector.publish import publish_batch
from analytics_collector.schema import load_schema
from analytics_collector.settings import settings_from_env

# A request waits for SNS; keep each call short and let publish_batch do the retrying.
_SNS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2, "mode": "standard"})


@functools.cache
def _wiring():
    """Settings, clients and keys, once per container."""
    settings = settings_from_env(os.environ)
    sns = boto3.client("sns", config=_SNS_CONFIG)
    keys = KeyRing(
        key_loader(settings, ssm=lambda: boto3.client("ssm"), secretsmanager=lambda: boto3.client("secretsmanager")),
        settings.keys_cache_seconds,
    )

    def publish(bodies):
        return publish_batch(sns, settings.topic_arn, bodies, attempts=settings.publish_attempts)

    return settings, keys, publish, load_schema()


@log.lambda_call
def main(event, context):
    settings, keys, publish, schema = _wiring()
    return handle(request_from_event(event), settings, keys, publish, schema, log=log).as_lambda()
