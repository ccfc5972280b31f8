"""The AWS tasks against a moto server, reached only through AWS_ENDPOINT_URL."""
import base64
import io
import json
import time

import pytest
from invoke import Exit

import tasks
from ops import build as builder
from ops import lambdas

ENV = "test"  # the stage the moto_stage fixture makes


def drain(sqs, queue_url, expected, attempts=30):
    """Read and delete every message of a queue; stop after `expected` or when attempts run out."""
    bodies = []
    for _ in range(attempts):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            if len(bodies) >= expected:
                break
            time.sleep(0.1)
            continue
        bodies += [m["Body"] for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return bodies


def test_publish_event_lands_every_event_in_the_subscribed_queue(ctx, moto_stage, capsys):
    # GIVEN the stage's topic with its queue subscribed
    sqs = moto_stage.client("sqs")
    # WHEN `inv publish-event --env test -n 25` runs
    tasks.publish_event(ctx, env=ENV, n=25)
    # THEN 25 distinct valid events arrive in the queue (as SNS notifications)
    bodies = drain(sqs, moto_stage.values["queue_url"], expected=25)
    events = [json.loads(json.loads(body)["Message"]) for body in bodies]
    assert len(events) == 25
    assert len({e["event_id"] for e in events}) == 25
    assert all({"event_id", "event_timestamp", "event_type"} <= e.keys() for e in events)
    # AND the summary counts 3 PublishBatch calls (10 + 10 + 5); the progress bar went to stderr
    captured = capsys.readouterr()
    assert "published 25 of 25 events" in captured.out and "in 3 PublishBatch calls, 0 failed" in captured.out
    assert "25/25" in captured.err


def test_publish_event_uses_the_given_type(ctx, moto_stage):
    tasks.publish_event(ctx, env=ENV, n=3, type="order_placed")
    bodies = drain(moto_stage.client("sqs"), moto_stage.values["queue_url"], expected=3)
    assert [json.loads(json.loads(b)["Message"])["event_type"] for b in bodies] == ["order_placed"] * 3


def test_publish_event_refuses_a_count_below_one(ctx, moto_stage):
    with pytest.raises(Exit, match="-n must be at least 1"):
        tasks.publish_event(ctx, env=ENV, n=0)


def test_redrive_empties_the_dlq_into_the_queue(ctx, moto_stage, capsys):
    # GIVEN 13 messages in the DLQ, one with a message attribute
    sqs = moto_stage.client("sqs")
    dlq, queue = moto_stage.values["dlq_url"], moto_stage.values["queue_url"]
    bodies = [json.dumps({"n": i}) for i in range(13)]
    for body in bodies:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    sqs.send_message(
        QueueUrl=dlq, MessageBody="with attribute", MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}}
    )
    # WHEN `inv redrive --env test` runs
    tasks.redrive(ctx, env=ENV)
    # THEN the DLQ is empty and the queue holds the same 14 bodies
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
    with_attribute = [m for m in moved if m["Body"] == "with attribute"]
    for m in moved:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    rest = drain(sqs, queue, expected=14 - len(moved))
    assert sorted([m["Body"] for m in moved] + rest) == sorted(bodies + ["with attribute"])
    if with_attribute:
        assert with_attribute[0]["MessageAttributes"]["kind"]["StringValue"] == "x"
    # AND the counts are printed
    assert "moved 14 messages" in capsys.readouterr().out


def test_redrive_of_an_empty_dlq_moves_nothing(ctx, moto_stage, capsys):
    tasks.redrive(ctx, env=ENV)
    assert "moved 0 messages" in capsys.readouterr().out


def test_redrive_limit(ctx, moto_stage, capsys):
    sqs = moto_stage.client("sqs")
    for i in range(5):
        sqs.send_message(QueueUrl=moto_stage.values["dlq_url"], MessageBody=str(i))
    tasks.redrive(ctx, env=ENV, limit=3)
    assert "moved 3 messages" in capsys.readouterr().out


@pytest.fixture
def build_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(builder, "DIST_DIR", tmp_path / "dist")
    return tmp_path


def test_update_makes_the_deployed_code_hash_equal_the_zip_hash(ctx, moto_stage, build_dirs, capsys):
    # GIVEN a build of the consumer
    tasks.build(ctx, func=["analytics_consumer"])
    lam = moto_stage.client("lambda")
    before = lam.get_function_configuration(FunctionName=f"analytics_consumer_{ENV}")["CodeSha256"]
    # WHEN `inv update analytics_consumer --env test` runs
    tasks.update(ctx, "analytics_consumer", env=ENV)
    # THEN the function's CodeSha256 is the zip's hash, and it was printed
    zip_hash = builder.zip_sha256(build_dirs / "dist" / "analytics_consumer-x86_64.zip")
    after = lam.get_function_configuration(FunctionName=f"analytics_consumer_{ENV}")
    assert after["CodeSha256"] == zip_hash != before
    assert after["LastUpdateStatus"] == "Successful"
    assert f"CodeSha256 {zip_hash}" in capsys.readouterr().out


def test_update_without_a_build_says_to_build_first(ctx, moto_stage, build_dirs):
    with pytest.raises(Exit, match=r"run `inv build --func analytics_worker --arch x86_64` first"):
        tasks.update(ctx, "analytics_worker", env=ENV)


def test_update_refuses_a_zip_of_the_wrong_architecture(ctx, moto_stage, build_dirs):
    tasks.build(ctx, func=["analytics_consumer"], arch="arm64")
    with pytest.raises(Exit, match=r"runs on x86_64 but the zip is built for arm64: pass --arch x86_64"):
        tasks.update(ctx, "analytics_consumer", env=ENV, arch="arm64")


def test_update_of_a_function_that_is_not_deployed_is_an_error(ctx, moto_stage, build_dirs, monkeypatch, tmp_path):
    tasks.build(ctx, func=["analytics_consumer"])
    moto_stage.client("lambda").delete_function(FunctionName=f"analytics_consumer_{ENV}")
    with pytest.raises(Exit, match=r"Updating analytics_consumer_test: ResourceNotFoundException"):
        tasks.update(ctx, "analytics_consumer", env=ENV)


def put_logs(logs, group, messages):
    stream = "2026/11/28/[$LATEST]abcdef0123456789"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(messages)],
    )


def test_log_prints_the_functions_recent_events(ctx, moto_stage, capsys):
    # GIVEN log events of the worker
    put_logs(moto_stage.client("logs"), f"/aws/lambda/analytics_worker_{ENV}", ["START RequestId: 1", '{"stored": 3}', "END RequestId: 1"])
    # WHEN `inv log analytics_worker --env test --since 5m` runs
    tasks.log(ctx, "analytics_worker", env=ENV, since="5m")
    # THEN they are printed, oldest first
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == ["START RequestId: 1", '{"stored": 3}', "END RequestId: 1"]


def test_log_follow_prints_new_events_once(moto_stage):
    logs = moto_stage.client("logs")
    group = f"/aws/lambda/analytics_consumer_{ENV}"
    put_logs(logs, group, ["first"])
    out = io.StringIO()
    shown = lambdas.show_logs(moto_stage.session, f"analytics_consumer_{ENV}", 300, follow=True, poll_seconds=0, out=out, max_polls=3)
    assert shown == 1 and out.getvalue().count("first") == 1


def test_log_of_a_function_without_logs_says_so(ctx, moto_stage):
    # GIVEN a function that has never run (moto server makes no log group for a new function)
    with pytest.raises(Exit, match=r"Log group /aws/lambda/analytics_worker_test does not exist"):
        tasks.log(ctx, "analytics_worker", env=ENV)


def test_log_refuses_a_bad_duration(ctx, moto_stage):
    with pytest.raises(Exit, match=r"--since 'ten minutes' is not a duration: use a number and a unit"):
        tasks.log(ctx, "analytics_worker", env=ENV, since="ten minutes")


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800)])
def test_since_durations(text, seconds):
    assert lambdas.parse_since(text) == seconds


def test_invoke_prints_the_response_of_the_deployed_function(ctx, moto_stage, moto_server, capsys):
    # GIVEN moto answering Invoke without Docker (it echoes the payload)
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(
            f"{moto_server}/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(), method="POST"
        )
    ).read()
    # WHEN `inv invoke analytics_worker --env test --payload ...` runs
    tasks.invoke_(ctx, "analytics_worker", env=ENV, payload='[{"event_id": "12"}]')
    # THEN the response is printed and the call did not fail
    assert capsys.readouterr().out.strip()


class FakeLambda:
    def __init__(self, response):
        self.response, self.calls = response, []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        return self.response


class FakeSession:
    def __init__(self, client):
        self._client = client

    def client(self, service):
        return self._client


def test_invoke_decodes_the_log_tail_and_exits_non_zero_on_a_function_error():
    # GIVEN a function that fails with an unhandled error
    log = "START RequestId: 7\n[ERROR] KeyError: 'x'\nEND RequestId: 7\n"
    client = FakeLambda(
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "LogResult": base64.b64encode(log.encode()).decode(),
            "Payload": io.BytesIO(b'{"errorMessage": "\'x\'", "errorType": "KeyError"}'),
        }
    )
    out, err = io.StringIO(), io.StringIO()
    # WHEN it is invoked
    with pytest.raises(Exit) as failure:
        lambdas.invoke_deployed(FakeSession(client), "analytics_worker_dev", [{"event_id": "12"}], out=out, err=err)
    # THEN the exit code is non-zero, the decoded log tail and the error response are shown
    assert failure.value.code == 1
    assert "[ERROR] KeyError: 'x'" in err.getvalue()
    assert '"errorType": "KeyError"' in out.getvalue()
    assert client.calls[0]["InvocationType"] == "RequestResponse" and client.calls[0]["LogType"] == "Tail"
    assert json.loads(client.calls[0]["Payload"]) == [{"event_id": "12"}]


def test_tasks_need_no_profile_when_only_the_endpoint_and_keys_are_set(ctx, moto_stage, monkeypatch):
    # GIVEN invoke.yaml names a profile that does not exist on this machine
    ctx.config.profile = "no-such-profile"
    # THEN the tasks still work with the environment's credentials
    tasks.publish_event(ctx, env=ENV, n=1)


def test_unknown_aws_profile_is_refused(ctx, moto_stage, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with pytest.raises(Exit, match=r"AWS profile 'no-such-profile' does not exist"):
        tasks.publish_event(ctx, env=ENV, n=1)
