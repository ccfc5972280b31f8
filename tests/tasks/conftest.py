"""Fixtures for the task tests: an invoke Context, a moto server, and a stage made on it.

The moto server runs once per session on a free port of 127.0.0.1 and is reset before each
test that uses it. Tasks reach it the way an operator's shell would: only through
AWS_ENDPOINT_URL (plus dummy credentials), never through a patched client.
"""
import io
import json
import urllib.request
import zipfile
from dataclasses import dataclass

import boto3
import pytest

from ops import stage as stage_module

REGION = "eu-central-1"
ENV = "test"


@pytest.fixture(scope="session")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean moto server, reachable only through AWS_ENDPOINT_URL."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    return boto3.Session(region_name=REGION)


def tiny_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", "def main(event, context):\n    return event\n")
    return buffer.getvalue()


@dataclass
class MotoStage:
    session: object
    values: dict
    path: object

    def client(self, service):
        return self.session.client(service)


def write_outputs(path, values, terraform_form=True):
    if terraform_form:
        document = {k: {"sensitive": k in stage_module.SENSITIVE, "type": "string", "value": v} for k, v in values.items()}
    else:
        document = values
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture
def moto_stage(aws, tmp_path, monkeypatch):
    """Stage `test` on moto: topic, queue + DLQ (subscribed, raw delivery off), both functions.

    Its outputs are written like `terraform output -json` prints them and handed to the tasks
    through ANALYTICS_OUTPUTS_FILE.
    """
    sns, sqs, iam, lam = (aws.client(s) for s in ("sns", "sqs", "iam", "lambda"))
    topic_arn = sns.create_topic(Name=f"event_created_{ENV}")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName=f"analytics_events_{ENV}_dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"analytics_events_{ENV}",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    role_arn = iam.create_role(
        RoleName="analytics_lambda",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    for function in ("analytics_consumer", "analytics_worker"):
        lam.create_function(
            FunctionName=f"{function}_{ENV}",
            Runtime="python3.12",
            Role=role_arn,
            Handler="main.main",
            Code={"ZipFile": tiny_zip()},
            Architectures=["x86_64"],
        )
    values = {
        "stage": ENV,
        "region": REGION,
        "topic_arn": topic_arn,
        "queue_url": queue_url,
        "queue_arn": queue_arn,
        "dlq_url": dlq_url,
        "schema": f"analytics_{ENV}",
        "consumer_function_name": f"analytics_consumer_{ENV}",
        "worker_function_name": f"analytics_worker_{ENV}",
        "admin_database_url": "postgresql://admin:s3cret-admin@db.invalid:5432/analytics",
        "writer_database_url": "postgresql://writer:s3cret-writer@db.invalid:5432/analytics",
        "reader_database_url": "postgresql://reader:s3cret-reader@db.invalid:5432/analytics",
        "publisher_access_key_id": "AKIATESTPUBLISHER",
        "publisher_secret_access_key": "s3cret-publisher",
        "alerts_topic_arn": sns.create_topic(Name=f"analytics_alerts_{ENV}")["TopicArn"],
    }
    path = write_outputs(tmp_path / "outputs.json", values)
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(path))
    return MotoStage(aws, values, path)

