"""A stage's endpoints (ops.stage, `inv outputs`): terraform's document, the local stack file, preconditions."""
import base64
import io
import json
import stat
from pathlib import Path

import psycopg2
import pytest
from invoke import Exit
from psycopg2.extensions import encrypt_password, parse_dsn

import tasks
from ops import database
from ops import stage as stage_module

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "terraform_output_dev.json"
SECRETS = ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",)
HOST = "analytics.c9akciq32.eu-central-1.rds.amazonaws.com"


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv(stage_module.OUTPUTS_FILE_VARIABLE, raising=False)


@pytest.fixture
def fake_terraform(tmp_path, monkeypatch, no_override):
    """A `terraform` on PATH that prints a given document (and records its arguments), plus stage folders."""
    infrastructure = tmp_path / "infrastructure"
    for root in ("dev", "shared"):
        (infrastructure / root).mkdir(parents=True)
        (infrastructure / root / "main.tf").write_text("")
    monkeypatch.setattr(stage_module, "INFRASTRUCTURE_DIR", infrastructure)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "terraform"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("TERRAFORM", raising=False)

    def install(stdout_by_root, exit_code=0, stderr=""):
        lines = ["#!/bin/sh", f'echo "$@" >> "{tmp_path}/terraform.args"']
        for root, text in stdout_by_root.items():
            (tmp_path / f"{root}.json").write_text(text)
            lines.append(f'case "$1" in -chdir=*/{root}) /bin/cat "{tmp_path}/{root}.json";; esac')
        if stderr:
            lines.append(f"echo '{stderr}' >&2")
        lines.append(f"exit {exit_code}")
        script.write_text("\n".join(lines) + "\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        return tmp_path / "terraform.args"

    return install


def test_terraform_output_document_is_parsed():
    # GIVEN a document as `terraform output -json` prints it
    values, sensitive = stage_module.parse_outputs(json.loads(FIXTURE.read_text()))
    # THEN values are unwrapped and the sensitive ones are known
    assert values["topic_arn"] == "arn:aws:sns:eu-central-1:123456789012:event_created_dev"
    assert values["schema"] == "analytics_dev"
    assert values["worker_function_name"] == "analytics_worker_dev"
    assert sensitive == {"publisher_secret_access_key"}
    # AND a deployed stage's outputs hold no database credential, only where and who
    assert not [name for name in values if "password" in name or name.endswith("database_url")]
    assert (values["db_address"], values["writer_role"], values["reader_role"]) == (HOST, "analytics_dev_writer", "analytics_dev_reader")


def test_plain_json_object_is_parsed_and_secrets_are_still_known():
    values, sensitive = stage_module.parse_outputs({"schema": "analytics_local", "admin_database_url": "postgresql://a:b@h/d"})
    assert values == {"schema": "analytics_local", "admin_database_url": "postgresql://a:b@h/d"}
    assert sensitive == {"admin_database_url"}


def test_stage_is_read_through_terraform(fake_terraform):
    # GIVEN terraform whose dev root prints the saved document
    args_file = fake_terraform({"dev": FIXTURE.read_text()})
    # WHEN the dev stage is loaded
    stage = stage_module.load("dev")
    # THEN its endpoints are the document's, read with `terraform -chdir=... output -json`
    assert stage.get("queue_url").endswith("/analytics_events_dev")
    assert stage.function_name("analytics_consumer") == "analytics_consumer_dev"
    assert stage.get("writer_role") == "analytics_dev_writer"
    assert stage.region == "eu-central-1"
    assert args_file.read_text().split()[1:] == ["output", "-no-color", "-json"]
    assert args_file.read_text().split()[0].endswith("/infrastructure/dev")


def test_a_key_missing_from_the_stage_is_taken_from_the_shared_root(fake_terraform, monkeypatch):
    # GIVEN a stage document without the admin's name, which the shared root has
    document = json.loads(FIXTURE.read_text())
    admin = document.pop("admin_username")
    fake_terraform({"dev": json.dumps(document), "shared": json.dumps({"admin_username": admin})})
    monkeypatch.setenv("PGPASSWORD", "from the operator")
    # WHEN the admin URL is built THEN it names the shared root's admin
    assert stage_module.load("dev").database_url("admin").startswith("postgresql://analytics_admin:")


# ---- database URLs of a deployed stage ---------------------------------------------------------


@pytest.fixture
def deployed(monkeypatch):
    """The dev stage from the saved terraform document, with a recording IAM token signer."""
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(FIXTURE))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    stage = stage_module.load("dev")
    signed = []

    def signer(host, port, user, region):
        signed.append((host, port, user, region))
        return f"{host}:{port}/?Action=connect&DBUser={user}&X-Amz-Signature=ab+cd/ef=="

    stage.token_signer = signer
    stage.signed = signed
    return stage


def test_the_writer_signs_in_with_an_iam_token_that_libpq_reads_back_whole(deployed):
    # WHEN the writer's URL of a deployed stage is asked for
    url = deployed.database_url("writer")
    # THEN a token is signed for the stage's host, port, writer role and region
    assert deployed.signed == [(HOST, 5432, "analytics_dev_writer", "eu-central-1")]
    # AND libpq reads back the exact token as the password, with TLS required
    parsed = parse_dsn(url)
    assert parsed["password"] == f"{HOST}:5432/?Action=connect&DBUser=analytics_dev_writer&X-Amz-Signature=ab+cd/ef=="
    assert (parsed["user"], parsed["host"], parsed["port"], parsed["dbname"], parsed["sslmode"]) == (
        "analytics_dev_writer", HOST, "5432", "analytics", "require",
    )


@pytest.mark.parametrize("password", ["with space", "plus+sign", "at@slash/colon:", "percent%20literal", "ümlaut € ok"])
def test_a_password_from_the_operator_reaches_libpq_unchanged(deployed, monkeypatch, password):
    # GIVEN the admin's password in PGPASSWORD, with characters URLs reserve (a space must not become +)
    monkeypatch.setenv("PGPASSWORD", password)
    # WHEN the admin URL is built
    url = deployed.database_url("admin")
    # THEN libpq decodes exactly that password, and psql gets it whole in PGPASSWORD
    assert parse_dsn(url)["password"] == password
    assert parse_dsn(url)["user"] == "analytics_admin"
    argv, extra = database.psql_command(url)
    assert extra == {"PGPASSWORD": password} and password not in " ".join(argv)
    # AND the masked form shows no part of it
    assert stage_module.mask(url) == f"postgresql://analytics_admin:****@{HOST}:5432/analytics?sslmode=require"


def test_a_ca_bundle_turns_on_verify_full(deployed, monkeypatch, tmp_path):
    bundle = tmp_path / "global bundle.pem"
    monkeypatch.setenv("PGSSLROOTCERT", str(bundle))
    monkeypatch.setenv("PGPASSWORD", "x" * 16)
    parsed = parse_dsn(deployed.database_url("reader"))
    assert (parsed["sslmode"], parsed["sslrootcert"], parsed["user"]) == ("verify-full", str(bundle), "analytics_dev_reader")


def test_without_a_password_and_no_terminal_the_task_says_where_to_give_it(deployed, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(Exit, match=r"No password for analytics_dev_reader: deployed stages keep none. Set PGPASSWORD"):
        deployed.database_url("reader")


# ---- the reader's password verifier ------------------------------------------------------------


def test_the_reader_verifier_is_what_postgres_itself_makes(postgres_url):
    # GIVEN Postgres's own SCRAM-SHA-256 verifier of a password (a real server, its own salt)
    password = "correct horse battery staple"
    with psycopg2.connect(postgres_url) as connection:
        connection.cursor().execute("SET password_encryption = 'scram-sha-256'")
        theirs = encrypt_password(password, "analytics_dev_reader", connection, "scram-sha-256")
    iterations, rest = theirs.removeprefix("SCRAM-SHA-256$").split(":", 1)
    salt = base64.b64decode(rest.split("$")[0])
    # WHEN ours is made from the same password, salt and iteration count
    ours = database.scram_sha_256_verifier(password, salt=salt, iterations=int(iterations))
    # THEN they are the same text
    assert ours == theirs


def test_the_reader_password_task_refuses_a_placeholder_or_short_password():
    for weak in ("CHANGE-ME-at-least-16-characters", "short", "abababababababababab"):
        with pytest.raises(Exit, match=r"too short|placeholder or is weak"):
            database.reader_password_verifier(weak)
    assert database.reader_password_verifier("correct horse battery staple").startswith("SCRAM-SHA-256$4096:")


def test_outputs_task_masks_secrets(ctx, monkeypatch, capsys):
    # GIVEN the saved terraform document as the stage's outputs
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(FIXTURE))
    # WHEN `inv outputs --env dev` runs
    tasks.outputs(ctx, env="dev")
    printed = capsys.readouterr().out
    # THEN every endpoint is shown, no secret is
    assert "event_created_dev" in printed and "analytics_events_dev_dlq" in printed
    assert HOST in printed and "analytics_dev_writer" in printed
    assert "publisher_secret_access_key" in printed
    for secret in SECRETS:
        assert secret not in printed


@pytest.mark.parametrize(
    "value, shown",
    [
        ("postgresql://u:p%40ss@host:5432/db?sslmode=require", "postgresql://u:****@host:5432/db?sslmode=require"),
        ("postgresql://u@/postgres?host=/tmp/pg", "postgresql://u@/postgres?host=/tmp/pg"),
        ("postgresql://h/db?password=x", "(sensitive)"),
        ("plain-secret", "(sensitive)"),
        (None, "(sensitive)"),
    ],
)
def test_mask(value, shown):
    assert stage_module.mask(value) == shown


# ---- preconditions ----------------------------------------------------------------------------


def test_missing_terraform_says_to_install_it(fake_terraform, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Exit, match=r"terraform is not installed.*install Terraform.*ANALYTICS_OUTPUTS_FILE"):
        stage_module.load("dev")


def test_stage_without_state_says_to_deploy_it(fake_terraform):
    fake_terraform({"dev": "{}"})
    with pytest.raises(Exit, match=r"Stage 'dev' has no outputs: its state is empty. Deploy it first: `terraform -chdir=infrastructure/dev init"):
        stage_module.load("dev")


BACKEND_TEXT = """There are some problems with the CLI configuration:
Error: Backend initialization required, please run "terraform init"

Reason: Initial configuration of the requested backend "s3"

The "backend" is the interface that Terraform uses to store state,
perform operations, etc. If this message is showing up, it means that the
Terraform configuration you are using is using a custom configuration for
the Terraform backend."""


def test_a_stage_without_state_here_says_in_two_lines_to_init_it(fake_terraform, monkeypatch):
    # GIVEN a stage root that was never initialised on this machine (terraform prints its backend text)
    monkeypatch.delenv("ANALYTICS_VERBOSE", raising=False)
    fake_terraform({}, exit_code=1, stderr=BACKEND_TEXT.replace("'", ""))
    # WHEN a task reads the stage THEN two lines say what to do, and how to see Terraform's text
    with pytest.raises(Exit) as failure:
        stage_module.load("dev")
    message = str(failure.value.message)
    assert len(message.splitlines()) == 2, message
    assert "has no Terraform state on this machine" in message and "terraform -chdir=infrastructure/dev init" in message
    assert "ANALYTICS_VERBOSE=1 shows Terraform's full output" in message and "Reason:" not in message


def test_verbose_shows_terraforms_full_output(fake_terraform, monkeypatch):
    # GIVEN ANALYTICS_VERBOSE=1
    monkeypatch.setenv("ANALYTICS_VERBOSE", "1")
    fake_terraform({}, exit_code=1, stderr=BACKEND_TEXT.replace("'", ""))
    # WHEN the stage cannot be read THEN the message ends with everything Terraform printed
    with pytest.raises(Exit, match=r"(?s)terraform -chdir=infrastructure/dev init.*Reason: Initial configuration"):
        stage_module.load("dev")


def test_a_stage_whose_state_cannot_be_read_says_to_check_the_credentials(fake_terraform, monkeypatch):
    monkeypatch.delenv("ANALYTICS_VERBOSE", raising=False)
    fake_terraform({}, exit_code=1, stderr="Error: No valid credential sources found")
    with pytest.raises(Exit, match=r"could not read the state with the current AWS credentials. Set AWS_PROFILE"):
        stage_module.load("dev")


def test_unknown_stage_names_the_known_ones(fake_terraform):
    with pytest.raises(Exit, match=r"No stage 'qa': infrastructure/qa does not exist \(known stages: dev, local\)"):
        stage_module.load("qa")


def test_local_stage_without_a_running_stack_says_to_start_it(monkeypatch, tmp_path, no_override):
    monkeypatch.setattr(stage_module, "LOCAL_STACK_FILE", tmp_path / ".local" / "stack.json")
    with pytest.raises(Exit, match=r"start the local stack with `inv local`"):
        stage_module.load("local")


def test_local_stage_reads_the_stack_file(monkeypatch, tmp_path, no_override):
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"stage": "local", "schema": "analytics_local", "queue_url": "http://127.0.0.1:5055/q"}))
    monkeypatch.setattr(stage_module, "LOCAL_STACK_FILE", stack)
    stage = stage_module.load("local")
    assert stage.get("schema") == "analytics_local"
    assert stage.source == str(stack)


def test_missing_output_is_named(monkeypatch, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"stage": "dev"}))
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(path))
    with pytest.raises(Exit, match=r"Stage 'dev' has no output 'topic_arn'.*terraform -chdir=infrastructure/dev apply"):
        stage_module.load("dev").get("topic_arn")


def test_outputs_file_that_is_not_json_is_refused(monkeypatch, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("{not json")
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(path))
    with pytest.raises(Exit, match=r"is not valid JSON"):
        stage_module.load("dev")


def test_outputs_file_that_does_not_exist_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(tmp_path / "nope.json"))
    with pytest.raises(Exit, match=r"does not exist: check ANALYTICS_OUTPUTS_FILE"):
        stage_module.load("dev")


def test_unknown_role_is_refused(monkeypatch):
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(FIXTURE))
    with pytest.raises(Exit, match=r"Unknown role 'root': choose one of admin, writer, reader"):
        stage_module.load("dev").database_url("root")
