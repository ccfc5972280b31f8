"""Fixtures of the local-stack tests: a throw-away LocalStack on a fresh database of the session's Postgres.

Test modules import the fixtures they use from here by name, so each test file says where they come from."""
import io
import json

import pytest

from databases import Database
from ops.local_stack.stack import LocalStack


@pytest.fixture
def stack(migrated_db, tmp_path):
    """A running local stack (moto server on a free port, not the named one) on a fresh database."""
    running = LocalStack(port=0, database_url=migrated_db.url, data_dir=tmp_path, named=False, out=io.StringIO())
    running.start()
    yield running
    running.stop()


def local_db(stack):
    return Database(url=stack.values["admin_database_url"], schema=stack.spec.schema)


def publish(stack, bodies):
    sns = stack.client("sns")
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        response = sns.publish_batch(
            TopicArn=stack.values["topic_arn"],
            PublishBatchRequestEntries=[{"Id": str(i), "Message": body} for i, body in enumerate(chunk)],
        )
        assert len(response["Successful"]) == len(chunk)


def dumps(item):
    return json.dumps(item, separators=(",", ":"))
