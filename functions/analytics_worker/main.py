"""Lambda handler of analytics_worker: validate and store one batch of events (see analytics_worker.store)."""
import json
import os

from analytics_worker.database import ReusableConnection, database_url_from_env, schema_from_env
from analytics_worker.store import store_batch


def _secrets_client():
    import boto3  # only when DB_SECRET_ARN is used; boto3 ships with the Lambda runtime

    return boto3.client("secretsmanager")


def new_connection():
    return ReusableConnection(lambda: database_url_from_env(os.environ, _secrets_client))


_connection = new_connection()  # one per container, reused by every call


def main(event, context):
    if not isinstance(event, list):
        raise TypeError(f"analytics_worker expects a JSON list of events or message bodies, got {type(event).__name__}")
    schema = schema_from_env(os.environ)
    result = _connection.run(lambda connection: store_batch(connection, schema, event))
    print(json.dumps(result.as_dict()))
    return result.as_dict()
