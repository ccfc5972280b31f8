"""`inv invoke`, `inv update`, `inv log`: one deployed (or in-process) Lambda function.
(ops/functions.py knows the functions' source in this repository.)"""
import base64
import contextlib
import json
import os
import re
import sys
import time
import traceback
import uuid
from pathlib import Path

from invoke import Exit

from ops import aws
from ops.functions import load_handler_module

# ---- payloads -----------------------------------------------------------------------------


def parse_payload(text):
    """The JSON value of `--payload`: inline JSON, or `@path/to/file.json`."""
    if text is None or text == "":
        return {}
    source = "--payload"
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise Exit(f"Payload file {path} does not exist: give an existing file after @.") from None
        except OSError as error:
            raise Exit(f"Payload file {path} cannot be read: {error.strerror}.") from None
        source = str(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Exit(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}. "
            """Quote it for the shell, e.g. --payload '[{"event_id": "12"}]'."""
        ) from None


# ---- deployed invoke ----------------------------------------------------------------------


def invoke_deployed(session, function_name, payload, out=None, err=None):
    """Invoke synchronously, print the log tail (stderr) and the response (stdout); Exit(1) on a function error."""
    out, err = out or sys.stdout, err or sys.stderr
    client = session.client("lambda")
    with aws.errors(f"Invoking {function_name}"):
        response = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(payload).encode(),
        )
    log = response.get("LogResult")
    if log:
        print(f"--- log tail of {function_name} ---", file=err)
        print(base64.b64decode(log).decode(errors="replace").rstrip("\n"), file=err)
        print("---", file=err)
    body = response["Payload"].read().decode(errors="replace")
    print(_pretty(body), file=out)
    if response.get("FunctionError"):
        raise Exit(f"{function_name} failed ({response['FunctionError']}): see the error above.", code=1)
    return body


def _pretty(body):
    try:
        return json.dumps(json.loads(body), indent=2)
    except (json.JSONDecodeError, TypeError):
        return body


# ---- in-process invoke --------------------------------------------------------------------


class LocalContext:
    """The parts of Lambda's context object that handlers use."""

    def __init__(self, function_name, timeout_seconds=900, memory_mb=512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def local_environment(function, stage):
    """The environment variables the deployed function would get, from the stage's outputs."""
    if function == "analytics_worker":
        if stage.env == "local":
            # The local stack's worker writes as the stage's writer role (INSERT only); an older outputs file has only the admin URL.
            role = "writer" if stage.values.get("writer_database_url") else "admin"
            return {"DB_URL": stage.database_url(role), "DB_SCHEMA": stage.get("schema")}
        # Deployed stages: what the deployed worker gets (RDS IAM auth as the writer role; it signs its own token).
        return {
            "DB_HOST": stage.get("db_address"), "DB_PORT": str(stage.get("db_port")), "DB_NAME": stage.get("db_name"),
            "DB_USER": stage.get("writer_role"), "DB_SCHEMA": stage.get("schema"),
        }
    if function == "analytics_consumer":
        return {"SQS_URL": stage.get("queue_url"), "WORKER_LAMBDA_ARN": stage.function_name("analytics_worker")}
    if function == "analytics_collector":  # the payload is a function-URL / HTTP API event
        return {"TOPIC_ARN": stage.get("topic_arn"), "WRITE_KEYS_PARAMETER": stage.get("collector_write_keys_parameter")}
    raise Exit(f"No local settings for {function!r}.")


@contextlib.contextmanager
def patched_environ(values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke_local(function, stage, payload, out=None, err=None):
    """Run functions/<function>/main.py's handler in this process with the stage's settings; returns its result."""
    out, err = out or sys.stdout, err or sys.stderr
    environment = local_environment(function, stage)
    with patched_environ(environment):
        try:
            module = load_handler_module(function)
        except FileNotFoundError:
            raise Exit(f"functions/{function}/main.py does not exist yet: nothing to run.") from None
        handler = getattr(module, "main", None)
        if handler is None:
            raise Exit(f"functions/{function}/main.py has no handler `main(event, context)`.")
        try:
            result = handler(payload, LocalContext(f"{function}_{stage.env}"))
        except Exception:  # the handler's failure is the function error: show it, exit non-zero
            traceback.print_exc(file=err)
            raise Exit(f"{function} raised an error (run locally against stage {stage.env!r}): see above.", code=1) from None
    print(json.dumps(result, indent=2, default=str), file=out)
    return result


# ---- update -------------------------------------------------------------------------------


def check_architecture(session, function_name, arch):
    """Refuse to deploy a zip built for another architecture than the deployed function's."""
    with aws.errors(f"Updating {function_name}"):
        current = session.client("lambda").get_function_configuration(FunctionName=function_name)
    deployed_arch = (current.get("Architectures") or ["x86_64"])[0]
    if deployed_arch != arch:
        raise Exit(f"{function_name} runs on {deployed_arch} but the zip is built for {arch}: pass --arch {deployed_arch}.")


def update_code(session, function_name, artifact, out=None):
    """Upload the zip, wait until Lambda finished the update, and return the new CodeSha256."""
    out = out or sys.stdout
    check_architecture(session, function_name, artifact.arch)
    client = session.client("lambda")
    with aws.errors(f"Updating {function_name}"):
        client.update_function_code(FunctionName=function_name, ZipFile=artifact.path.read_bytes())
        client.get_waiter("function_updated").wait(
            FunctionName=function_name, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
        )
        updated = client.get_function_configuration(FunctionName=function_name)
    code_sha = updated["CodeSha256"]
    print(f"{function_name}: CodeSha256 {code_sha} ({updated.get('LastUpdateStatus', 'unknown')})", file=out)
    if code_sha != artifact.sha256:
        raise Exit(f"{function_name} reports CodeSha256 {code_sha}, but the zip's is {artifact.sha256}: the upload did not take.")
    return code_sha


# ---- logs ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text):
    """`10m`, `2h`, `1d`, `30s`, `1w` -> seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise Exit(f"--since {text!r} is not a duration: use a number and a unit, e.g. 30s, 10m, 2h, 1d.")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def format_event(event):
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(event["timestamp"] / 1000))
    return f"{stamp}.{event['timestamp'] % 1000:03d}Z {event.get('logStreamName', '')[-8:]} {event['message'].rstrip()}"


def fetch_logs(client, group, start_ms, seen):
    """New events of `group` since start_ms (not in `seen`), oldest first."""
    events, token = [], None
    while True:
        arguments = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
        if token:
            arguments["nextToken"] = token
        response = client.filter_log_events(**arguments)
        for event in response.get("events", []):
            if event["eventId"] not in seen:
                seen.add(event["eventId"])
                events.append(event)
        token = response.get("nextToken")
        if not token:
            break
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    return events


def show_logs(session, function_name, since_seconds, follow=False, poll_seconds=2.0, out=None, max_polls=None):
    """Print the function's log events of the last `since_seconds`; with follow, keep polling until Ctrl-C."""
    out = out or sys.stdout
    client = session.client("logs")
    group = f"/aws/lambda/{function_name}"
    start_ms = int((time.time() - since_seconds) * 1000)
    seen, polls, shown = set(), 0, 0
    try:
        while True:
            try:
                events = fetch_logs(client, group, start_ms, seen)
            except client.exceptions.ResourceNotFoundException:
                raise Exit(f"Log group {group} does not exist: {function_name} has not run yet (or is not deployed).") from None
            for event in events:
                print(format_event(event), file=out, flush=True)
                start_ms = max(start_ms, event["timestamp"])
            shown += len(events)
            polls += 1
            if not follow or (max_polls is not None and polls >= max_polls):
                break
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        pass
    return shown
