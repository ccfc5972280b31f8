"""The local stack: moto server (SNS, SQS) + Postgres + the consumer on a schedule, in one process.

`LocalStack` starts moto in server mode on 127.0.0.1, an embedded Postgres (`pgserver`, data
under `.local/pgdata`, serving TCP on 127.0.0.1 with passwords: postgres.py) unless a
`database_url` is given, makes the stage's writer and reader roles (roles.py), runs the
migrations as admin, creates the topic,
queue, DLQ, redrive policy and subscription with the names and settings of the Terraform code
(ops/local_stack/terraform.py), and drains the queue into the worker, which runs in this
process through the consumer's seam and stores as the INSERT-only writer. `inv local` runs it until Ctrl-C; `inv demo` uses a
throw-away one.
"""
import contextlib
import fcntl
import importlib
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path

from invoke import Exit

from ops import migrations
from ops.functions import ROOT, load_handler_module
from ops.lambdas import LocalContext
from ops.local_stack import postgres, roles
from ops.local_stack.collector_server import LOCAL_WRITE_KEY, CollectorServer
from ops.local_stack.moto_sqs import apply_quick_sqs
from ops.local_stack.terraform import stack_spec

LOCAL_DIR_VARIABLE = "ANALYTICS_LOCAL_DIR"  # tests run a stack elsewhere than .local/
REGION = "eu-central-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def local_dir():
    return Path(os.environ.get(LOCAL_DIR_VARIABLE) or ROOT / ".local")


def stack_file():
    return local_dir() / "stack.json"


def _port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LockedLines:
    """A text file that several threads' loggers print to: print() writes a record and its newline
    in two calls, so each thread's pair is kept together."""

    def __init__(self, handle):
        self._handle, self._lock, self._held = handle, threading.Lock(), threading.local()

    def write(self, text):
        if not getattr(self._held, "yes", False):
            self._lock.acquire()
            self._held.yes = True
        self._handle.write(text)
        if text.endswith("\n"):
            self._held.yes = False
            self._lock.release()

    def flush(self):
        self._handle.flush()

    def close(self):
        self._handle.close()


class InProcessWorker:
    """The worker seam of the consumer: `store_batch` in this process, one connection per parallel call."""

    def __init__(self, url, schema, parallel, new_log=None, function_name="analytics_worker"):
        """`new_log()`: a new structured logger of the worker. Given, each parallel slot is like a container
        of its own (its own logger, so its own cold start) and logs each call as the deployed handler does."""
        load_handler_module("analytics_worker")  # puts the worker's package on sys.path, as Lambda does
        from analytics_worker.database import ReusableConnection
        from analytics_worker.payload import answer, read_payload
        from analytics_worker.store import store_batch

        import psycopg2

        self._store_batch, self.schema = store_batch, schema
        self._read_payload, self._answer = read_payload, answer
        self._opened = []

        def connect(dsn, **options):
            connection = psycopg2.connect(dsn, **options)
            self._opened.append(connection)
            return connection

        self._idle = queue.Queue()
        for _ in range(parallel):
            self._idle.put((ReusableConnection(lambda: url, connect=connect), new_log() if new_log else None))
        self.items = 0  # items processed so far (for progress)
        self.on_batch = None  # called with the running total after each batch
        self._function_name = function_name

    def __call__(self, batch):
        slot = self._idle.get()
        connection, log = slot
        try:
            if log is None:
                result = self._store(connection, batch)
            else:
                call = log.lambda_call(lambda event, context: self._store(connection, event, log))
                result = call(batch, LocalContext(self._function_name))
        finally:
            self._idle.put(slot)
        self.items += len(batch)
        if self.on_batch is not None:
            self.on_batch(self.items)
        return result

    def handle_event(self, event):
        """What the worker's handler does with a call: a list or an SQS event in, its answer out (stream mode)."""
        payload = self._read_payload(event)
        return self._answer(payload, self(payload.items))

    def _store(self, connection, batch, log=None):
        result = connection.run(lambda c: self._store_batch(c, self.schema, batch)).as_dict()
        if log is not None:
            log.info("batch stored", **result)
        return result

    def close(self):
        for connection in self._opened:
            with contextlib.suppress(Exception):
                connection.close()


class LocalStack:
    def __init__(self, port=0, database_url=None, data_dir=None, named=True, out=None, region=REGION, max_batch_events=None,
                 db_port=0, collector_port=None, stream_batch_size=None, stream_batching_window_seconds=None):
        """`named`: the one stack of this checkout (lock, `.local/stack.json`); else a throw-away one (demo).

        `db_port`: TCP port of the embedded Postgres on 127.0.0.1 (0: a free one).
        `collector_port`: port of the HTTP collector on 127.0.0.1 (0: a free one; None: no collector).
        `stream_batch_size`, `stream_batching_window_seconds`: the batches of stream_poller() (stream mode).
        """
        self.port = port
        self.db_port = db_port
        self.database_url = database_url
        self.data_dir = Path(data_dir) if data_dir else local_dir()
        self.named = named
        self.out = out or sys.stdout
        self.region = region
        self.spec = stack_spec()
        self.max_batch_events = max_batch_events  # None: the consumer's default
        self.stream_batch_size, self.stream_batching_window_seconds = stream_batch_size, stream_batching_window_seconds
        self.collector_port, self.collector = collector_port, None
        self.values = {}
        self._lock_file = self._moto = self._postgres = self.worker = self._undo_patch = None
        self.endpoints = {}
        self._drain_lock = threading.Lock()
        self._log_streams = {}  # function -> its log file, shared by its loggers
        self._consumer_log = None

    # ---- function logs -------------------------------------------------------------------
    def log_path(self, function):
        """Where the function's structured log records go, one JSON line each (CloudWatch's part here)."""
        return self.data_dir / "logs" / f"{function}.log"

    def function_log(self, function):
        """The function's own structured logger (its log.py), writing to log_path(function)."""
        load_handler_module(function)
        logger_class = importlib.import_module(f"{function}.log").Logger
        if function not in self._log_streams:
            path = self.log_path(function)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._log_streams[function] = LockedLines(open(path, "a"))
        return logger_class(function, stream=self._log_streams[function])

    # ---- start ---------------------------------------------------------------------------
    def say(self, text):
        print(text, file=self.out, flush=True)

    def start(self):
        try:
            if self.named:
                self._take_lock()
            self._start_moto()
            self._start_postgres()
            self._migrate()
            self._create_messaging()
            if self.collector_port is not None:
                self.collector = CollectorServer(self.values["topic_arn"], self.client("sns"), self.collector_port, out=self.out).start()
                self.values.update(collector_url=self.collector.url, collector_write_key=LOCAL_WRITE_KEY)
            self.worker = InProcessWorker(self.values["writer_database_url"], self.spec.schema,
                                          self.settings().max_parallel_workers,
                                          new_log=lambda: self.function_log("analytics_worker"),
                                          function_name=self.spec.worker_function_name)
            if self.named:
                path = stack_file()
                path.write_text(json.dumps(self.values, indent=2) + "\n")
        except BaseException:
            self.stop()
            raise
        return self

    def _take_lock(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.data_dir / "stack.lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            running = ""
            with contextlib.suppress(Exception):
                values = json.loads(stack_file().read_text())
                running = f" (pid {values.get('pid')}, {values.get('endpoint_url')})"
            raise Exit(
                f"A local stack is already running{running}: use it (--env local), or stop it with Ctrl-C "
                "in its shell before starting another."
            ) from None

    def _start_moto(self):
        from moto.server import ThreadedMotoServer

        if self.port and not _port_is_free(self.port):
            raise Exit(f"Port {self.port} on 127.0.0.1 is in use: stop what listens there, or pass another --port.")
        self._undo_patch = apply_quick_sqs()
        self.say(f"starting moto server (SNS, SQS) on 127.0.0.1:{self.port or '(free port)'} ...")
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._moto.start()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        host, port = self._moto.get_host_and_port()
        self.port = port
        self.values.update(stage="local", region=self.region, endpoint_url=f"http://{host}:{port}", pid=os.getpid())

    def _start_postgres(self):
        if self.database_url:
            self.say("using the Postgres server of DATABASE_URL")
            admin, tcp_port = self.database_url, None
        else:
            pgdata = self.data_dir / "pgdata"
            if self.db_port and not _port_is_free(self.db_port):
                raise Exit(f"Port {self.db_port} on 127.0.0.1 is in use: stop what listens there, or pass another --db-port.")
            tcp_port = self.db_port or postgres.free_port()
            self.say(f"starting the embedded Postgres on 127.0.0.1:{tcp_port} (data in {pgdata}) ...")
            self._postgres, admin = postgres.start_embedded(pgdata, tcp_port)
        self.endpoints = postgres.endpoints(admin, self.spec.schema, postgres.passwords(self.data_dir), tcp_port)
        writer, reader = self.endpoints["writer"], self.endpoints["reader"]
        self.values.update(
            admin_database_url=admin,
            writer_database_url=writer.url(),
            reader_database_url=reader.url(),
            # What a BI tool asks for (the reader's login; a local password on 127.0.0.1 only).
            dashboard_host=reader.host,
            dashboard_port=reader.port,
            dashboard_database=reader.database,
            dashboard_user=reader.user,
            dashboard_password=reader.password,
        )

    def _migrate(self):
        schema, url = self.spec.schema, self.values["admin_database_url"]
        self.say(f"roles {roles.role_name(schema, 'writer')} (INSERT only) and {roles.role_name(schema, 'reader')} (SELECT only) ...")
        roles.prepare(url, schema, {role: endpoint.password for role, endpoint in self.endpoints.items()})
        self.say(f"migrating schema {schema} ...")
        migrations.upgrade(url, schema)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # alembic's logging set-up may reset it
        roles.grant_existing(url, schema)
        self.values["schema"] = schema

    def client(self, service):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.values["endpoint_url"],
            region_name=self.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def _create_messaging(self):
        spec = self.spec
        self.say(f"creating topic {spec.topic_name}, queue {spec.queue_name}, DLQ {spec.dlq_name} ...")
        sns, sqs = self.client("sns"), self.client("sqs")
        topic_arn = sns.create_topic(Name=spec.topic_name)["TopicArn"]
        dlq_url = sqs.create_queue(QueueName=spec.dlq_name, Attributes=spec.dlq_attributes())["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = dict(spec.queue_attributes())
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count})
        queue_url = sqs.create_queue(QueueName=spec.queue_name, Attributes=attributes)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(
            QueueUrl=dlq_url,
            Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn]})},
        )
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true" if spec.raw_message_delivery else "false"},
        )
        self.values.update(
            topic_arn=topic_arn,
            queue_url=queue_url,
            queue_arn=queue_arn,
            dlq_url=dlq_url,
            worker_function_name=spec.worker_function_name,
            consumer_function_name=spec.consumer_function_name,
        )

    # ---- the consumer ----------------------------------------------------------------------
    def settings(self):
        load_handler_module("analytics_consumer")
        from analytics_consumer.settings import Settings

        return Settings(
            queue_url=self.values.get("queue_url", "http://127.0.0.1/"),
            worker_function=self.spec.worker_function_name,
            worker_timeout_seconds=self.spec.worker_timeout_seconds,
            **({"max_batch_events": self.max_batch_events} if self.max_batch_events else {}),
        )

    def consumer_log(self):
        """The consumer's structured log (`.local/logs/analytics_consumer.log`)."""
        if self._consumer_log is None:
            self._consumer_log = self.function_log("analytics_consumer")
        return self._consumer_log

    def consumer_log_echoing_problems(self):
        """A log callable for the consumer's code: every record to its log file, WARNING and ERROR also said here."""
        consumer_log = self.consumer_log()

        def log(level, message, **fields):
            consumer_log(level, message, **fields)
            if level != "INFO":
                self.say(f"consumer {level}: {message} {json.dumps(fields, default=str)}")

        return log

    def drain_once(self, log=None):
        """One consumer run with the Lambda's time budget; returns its summary (a dict)."""
        load_handler_module("analytics_consumer")
        from analytics_consumer.drain import drain

        deadline = time.monotonic() + self.spec.consumer_timeout_seconds

        def time_left_ms():
            return max(0, int((deadline - time.monotonic()) * 1000))

        consumer_log = self.consumer_log()
        quiet = self.consumer_log_echoing_problems()

        @consumer_log.lambda_call
        def run(event, context):  # as the deployed handler: its records carry the run's request id and cold start
            sqs = self.client("sqs")
            try:
                summary = drain(sqs, self.settings(), self.worker, time_left_ms, log=log or quiet).as_dict()
            finally:
                # The consumer's streams open several connections: closed here, by the client, their TIME_WAIT
                # lands on the client's ports, not on the moto server's port (which must be free after Ctrl-C).
                sqs.close()
            consumer_log.info("analytics_consumer run finished", **summary)
            return summary

        with self._drain_lock:
            return run({"source": "local schedule"}, LocalContext(self.spec.consumer_function_name))

    def run_schedule(self, every, stop):
        """Drain every `every` seconds (like the EventBridge schedule) until `stop` is set."""
        next_run = time.monotonic()
        while not stop.wait(max(0.0, next_run - time.monotonic())):
            started = time.monotonic()
            try:
                summary = self.drain_once()
            except Exception as error:  # keep the schedule going, as EventBridge would
                self.say(f"{time.strftime('%H:%M:%S')} consumer run failed: {type(error).__name__}: {error}")
            else:
                if summary["received"] or summary["failed_batches"]:
                    self.say(
                        f"{time.strftime('%H:%M:%S')} consumer: received {summary['received']}, stored {summary['stored']}, "
                        f"duplicates {summary['duplicates']}, rejected {summary['rejected']}, "
                        f"failed batches {summary['failed_batches']} ({time.monotonic() - started:.1f} s)"
                    )
            next_run = max(next_run + every, time.monotonic())

    # ---- stream mode ----------------------------------------------------------------------
    def stream_poller(self):
        """A poller that feeds the in-process worker SQS events, as the event source mapping does (stream_poller.py)."""
        from ops.local_stack.stream_poller import StreamPoller

        return StreamPoller(
            self.client("sqs"), self.values["queue_url"], self.values["queue_arn"], self.region, self.worker.handle_event,
            self.stream_batch_size, self.stream_batching_window_seconds, say=self.say,
        )

    def start_stream(self, stop, guard_every, report=False):
        """Stream mode: the poller, and the consumer's stream guard every `guard_every` s, in threads until `stop`.

        Returns the poller and its threads.
        """
        poller = self.stream_poller()
        threads = [
            threading.Thread(target=poller.run, args=(stop, report), name="stream-poller", daemon=True),
            threading.Thread(target=poller.guard, args=(self.worker, guard_every, stop, self.consumer_log_echoing_problems()),
                             name="stream-guard", daemon=True),
        ]
        for thread in threads:
            thread.start()
        return poller, threads

    # ---- stop ------------------------------------------------------------------------------
    def stop(self):
        """Stop everything this stack started (safe to call twice, and after a failed start)."""
        if self.named and self._lock_file is not None:
            with contextlib.suppress(FileNotFoundError):
                stack_file().unlink()
        if self.collector is not None:
            self.collector.stop()
            self.collector = None
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        for stream in self._log_streams.values():
            with contextlib.suppress(Exception):
                stream.close()
        self._log_streams = {}
        if self._moto is not None:
            with contextlib.suppress(Exception):
                self._moto.stop()
            server = getattr(self._moto, "_server", None)
            if server is not None:
                with contextlib.suppress(Exception):
                    server.server_close()  # ThreadedMotoServer.stop leaves the listening socket open
            self._moto = None
        if self._undo_patch is not None:
            self._undo_patch()
            self._undo_patch = None
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()
            self._postgres = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
