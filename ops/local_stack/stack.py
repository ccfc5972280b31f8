"""The local stack: moto server (SNS, SQS) + Postgres + the consumer on a schedule, in one process.

`LocalStack` starts moto in server mode on 127.0.0.1, an embedded Postgres (`pgserver`, data
under `.local/pgdata`) unless a `database_url` is given, runs the migrations, creates the topic,
queue, DLQ, redrive policy and subscription with the names and settings of the Terraform code
(ops/local_stack/terraform.py), and drains the queue into the worker, which runs in this
process through the consumer's seam. `inv local` runs it until Ctrl-C; `inv demo` uses a
throw-away one.
"""
import contextlib
import fcntl
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
from ops.local_stack.moto_sqs import apply_quick_sqs
from ops.local_stack.terraform import stack_spec
from ops.stage import with_credentials

LOCAL_DIR_VARIABLE = "ANALYTICS_LOCAL_DIR"  # tests run a stack elsewhere than .local/
REGION = "eu-central-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
READER_ROLE = "analytics_reader_local"


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


class InProcessWorker:
    """The worker seam of the consumer: `store_batch` in this process, one connection per parallel call."""

    def __init__(self, url, schema, parallel):
        load_handler_module("analytics_worker")  # puts the worker's package on sys.path, as Lambda does
        from analytics_worker.database import ReusableConnection
        from analytics_worker.store import store_batch

        import psycopg2

        self._store_batch, self.schema = store_batch, schema
        self._opened = []

        def connect(dsn, **options):
            connection = psycopg2.connect(dsn, **options)
            self._opened.append(connection)
            return connection

        self._idle = queue.Queue()
        for _ in range(parallel):
            self._idle.put(ReusableConnection(lambda: url, connect=connect))
        self.items = 0  # items processed so far (for progress)
        self.on_batch = None  # called with the running total after each batch

    def __call__(self, batch):
        connection = self._idle.get()
        try:
            result = connection.run(lambda c: self._store_batch(c, self.schema, batch)).as_dict()
        finally:
            self._idle.put(connection)
        self.items += len(batch)
        if self.on_batch is not None:
            self.on_batch(self.items)
        return result

    def close(self):
        for connection in self._opened:
            with contextlib.suppress(Exception):
                connection.close()


class LocalStack:
    def __init__(self, port=0, database_url=None, data_dir=None, named=True, out=None, region=REGION, max_batch_events=None):
        """`named`: the one stack of this checkout (lock, `.local/stack.json`); else a throw-away one (demo)."""
        self.port = port
        self.database_url = database_url
        self.data_dir = Path(data_dir) if data_dir else local_dir()
        self.named = named
        self.out = out or sys.stdout
        self.region = region
        self.spec = stack_spec()
        self.max_batch_events = max_batch_events  # None: the consumer's default
        self.values = {}
        self._lock_file = self._moto = self._postgres = self.worker = self._undo_patch = None
        self._drain_lock = threading.Lock()

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
            self.worker = InProcessWorker(self.values["admin_database_url"], self.spec.schema, self.settings().max_parallel_workers)
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
            admin = reader = self.database_url
        else:
            import warnings

            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs inside pgserver
            import pgserver

            pgdata = self.data_dir / "pgdata"
            self.say(f"starting the embedded Postgres (data in {pgdata}) ...")
            self._postgres = pgserver.get_server(pgdata, cleanup_mode="stop")
            admin = self._postgres.get_uri()
            reader = with_credentials(admin, None, user=READER_ROLE)
        self.values.update(admin_database_url=admin, writer_database_url=admin, reader_database_url=reader)

    def _migrate(self):
        schema, url = self.spec.schema, self.values["admin_database_url"]
        self.say(f"migrating schema {schema} ...")
        migrations.upgrade(url, schema)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # alembic's logging set-up may reset it
        self.values["schema"] = schema
        if self._postgres is not None:
            self._grant_reader(url, schema)

    @staticmethod
    def _grant_reader(url, schema):
        """A read-only login role for dashboards (trust auth on the embedded server's socket)."""
        import psycopg2
        from psycopg2 import sql

        with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
            connection.autocommit = True
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(READER_ROLE)))
            role, name = sql.Identifier(READER_ROLE), sql.Identifier(schema)
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, role))
            cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, role))
            cursor.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(name, role))

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

    def drain_once(self, log=None):
        """One consumer run with the Lambda's time budget; returns its summary (a dict)."""
        load_handler_module("analytics_consumer")
        from analytics_consumer.drain import drain

        deadline = time.monotonic() + self.spec.consumer_timeout_seconds

        def time_left_ms():
            return max(0, int((deadline - time.monotonic()) * 1000))

        def quiet(level, message, **fields):
            if level != "INFO":
                self.say(f"consumer {level}: {message} {json.dumps(fields, default=str)}")

        with self._drain_lock:
            sqs = self.client("sqs")
            try:
                summary = drain(sqs, self.settings(), self.worker, time_left_ms, log=log or quiet)
            finally:
                # The consumer's streams open several connections: closed here, by the client, their TIME_WAIT
                # lands on the client's ports, not on the moto server's port (which must be free after Ctrl-C).
                sqs.close()
        return summary.as_dict()

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

    # ---- stop ------------------------------------------------------------------------------
    def stop(self):
        """Stop everything this stack started (safe to call twice, and after a failed start)."""
        if self.named and self._lock_file is not None:
            with contextlib.suppress(FileNotFoundError):
                stack_file().unlink()
        if self.worker is not None:
            self.worker.close()
            self.worker = None
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
