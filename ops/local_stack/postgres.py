"""The local stack's Postgres: reachable like RDS (TCP on 127.0.0.1, password auth) with the stage's roles.

pgserver starts the embedded server on a Unix socket only (`-h ""`). Here it is restarted with
`-h 127.0.0.1 -p <port>` beside the socket, and pg_hba.conf is replaced so that TCP logins
need a SCRAM-SHA-256 password while the socket keeps trust for the admin (`postgres`).
The writer and reader passwords are made once and kept in <data dir>/credentials.json (0600),
so a dashboard configured against the stack keeps working after a restart.
"""
import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from ops.local_stack import roles
from ops.stage import with_credentials

PG_HBA = """# Written by ops/local_stack/postgres.py on every start of the local stack.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


@dataclass(frozen=True)
class Endpoint:
    """Where a BI tool (or the worker) connects: the values to type into Metabase, Superset, Grafana."""
    host: str
    port: int
    database: str
    user: str
    password: str

    def url(self):
        host = quote(self.host, safe="") if self.host.startswith("/") else self.host  # a socket directory
        return with_credentials(f"postgresql://{host}:{self.port}/{quote(self.database, safe='')}", self.password, self.user)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_embedded(pgdata, port):
    """Start (or take over) pgserver's Postgres in `pgdata`, serving TCP on 127.0.0.1:`port` too; returns (server, admin URL)."""
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs inside pgserver
    import pgserver
    from pgserver._commands import pg_ctl
    from pgserver.utils import PostmasterInfo

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    hba = Path(pgdata) / "pg_hba.conf"
    if hba.read_text() != PG_HBA:
        hba.write_text(PG_HBA)  # an existing file: keeps its owner (the server's system user)
    pg_ctl(
        ["-w", "-o", f"-h 127.0.0.1 -p {port} -k {socket_dir}", "-l", str(server.log), "restart"],
        pgdata=server.pgdata,
        user=server.system_user,
        timeout=30,
    )
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)  # so pgserver's cleanup stops this one
    admin = f"postgresql://postgres:@/postgres?host={quote(str(socket_dir))}&port={port}"
    return server, admin


def passwords(data_dir):
    """The writer's and reader's passwords, made on first use and kept in <data_dir>/credentials.json."""
    path = Path(data_dir) / "credentials.json"
    try:
        stored = json.loads(path.read_text())
        if all(isinstance(stored.get(role), str) and stored[role] for role in roles.ROLES):
            return {role: stored[role] for role in roles.ROLES}
    except (FileNotFoundError, ValueError):
        pass
    made = {role: secrets.token_urlsafe(18) for role in roles.ROLES}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(made, handle)
    return made


def endpoints(admin_url, schema, passwords_by_role, tcp_port=None):
    """{role: Endpoint} for writer and reader: TCP on 127.0.0.1:tcp_port, or the admin URL's own host and port."""
    parts = urlsplit(admin_url)
    database = parts.path.lstrip("/") or "postgres"
    if tcp_port is not None:
        host, port = "127.0.0.1", tcp_port
    else:  # the server of DATABASE_URL, as that URL reaches it (TCP, or a socket directory)
        query = parse_qs(parts.query)
        host = parts.hostname or query.get("host", [""])[0] or "/var/run/postgresql"
        port = parts.port or int(query.get("port", ["5432"])[0])
    return {
        role: Endpoint(host, port, database, roles.role_name(schema, role), passwords_by_role[role])
        for role in roles.ROLES
    }
