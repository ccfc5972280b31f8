"""The Lambda side of the worker seam: what goes out, and which answers acknowledge a batch."""
import io
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from analytics_consumer.worker_invoke import WorkerFailed, lambda_invoker

ARN = "arn:aws:lambda:eu-central-1:123456789012:function:analytics_worker_test"
BATCH = ['{"event_id": "a"}', '{"Type": "Notification", "Message": "{\\"event_id\\": \\"b\\"}"}', "garbage ü"]


@pytest.fixture
def stubbed():
    client = boto3.client("lambda", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


def answer(stubber, payload: bytes, function_error=None):
    response = {"StatusCode": 200, "Payload": io.BytesIO(payload)}
    if function_error:
        response["FunctionError"] = function_error
    stubber.add_response(
        "invoke", response, {"FunctionName": ARN, "InvocationType": "RequestResponse", "Payload": ANY}
    )


def test_the_batch_goes_out_as_a_json_list_of_the_untouched_bodies(stubbed):
    # GIVEN a worker that answers the counts
    client, stubber = stubbed
    answer(stubber, b'{"processed": 3, "stored": 1, "duplicates": 1, "rejected": 1}')
    sent = []
    client.meta.events.register("before-parameter-build.lambda.Invoke", lambda params, **_: sent.append(params["Payload"]))
    # WHEN a batch is invoked
    counts = lambda_invoker(client, ARN)(BATCH)
    # THEN the payload decodes to exactly the bodies, and the counts come back
    assert json.loads(sent[0]) == BATCH
    assert counts == {"processed": 3, "stored": 1, "duplicates": 1, "rejected": 1}


def test_a_worker_that_raised_is_a_failure_naming_its_error(stubbed):
    # GIVEN a worker whose call ended in an unhandled error (the database was down)
    client, stubber = stubbed
    answer(stubber, json.dumps({"errorType": "OperationalError", "errorMessage": "server closed the connection"})
           .encode(), function_error="Unhandled")
    # WHEN a batch is invoked
    # THEN WorkerFailed says what the worker raised
    with pytest.raises(WorkerFailed, match="Unhandled.*OperationalError: server closed the connection"):
        lambda_invoker(client, ARN)(BATCH)


@pytest.mark.parametrize("payload", [b"not json", b'"Simple Lambda happy path OK"', b'{"processed": 2, "stored": 2,'
                                     b' "duplicates": 0, "rejected": 0}'])
def test_an_answer_that_is_not_the_batchs_counts_is_a_failure(stubbed, payload):
    # GIVEN a worker answering something else than the counts of this batch
    client, stubber = stubbed
    answer(stubber, payload)
    # WHEN a batch is invoked
    # THEN it is not acknowledged
    with pytest.raises(WorkerFailed):
        lambda_invoker(client, ARN)(BATCH)
