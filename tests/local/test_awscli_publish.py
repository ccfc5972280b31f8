"""A real client: the AWS CLI publishes to the local topic with --endpoint-url; the event lands in Postgres."""
import json
import os
import subprocess
import sys

from local_fixtures import local_db, stack  # noqa: F401 - fixtures
from ops.events import sample_event


def test_an_event_published_with_the_aws_cli_is_stored(stack):
    # GIVEN a running local stack and an event
    event = sample_event("order_placed")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": stack.values["region"],
    }
    # WHEN the AWS CLI publishes it to the topic, aimed at the stack with --endpoint-url
    result = subprocess.run(
        [
            sys.executable, "-m", "awscli", "sns", "publish",
            "--endpoint-url", stack.values["endpoint_url"],
            "--topic-arn", stack.values["topic_arn"],
            "--message", json.dumps(event),
        ],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "MessageId" in json.loads(result.stdout)
    # AND the consumer runs
    summary = stack.drain_once()
    # THEN the event is in the database, as published
    assert summary["stored"] == 1
    db = local_db(stack)
    rows = db.query(f'SELECT event_type, user_id FROM "{db.schema}".events WHERE event_id = %s', (event["event_id"],))
    assert rows == [("order_placed", event["user_id"])]
