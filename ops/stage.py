"""A stage's endpoints: the one place that reads them.

Deployed stages (dev, staging, prod) take them from
`terraform -chdir=infrastructure/<env> output -json`; keys missing there are looked
up in the shared root (`infrastructure/shared`). The stage `local` takes them from
`.local/stack.json`, written by `inv local`. `ANALYTICS_OUTPUTS_FILE` names a JSON
file that replaces both (tests, or a copy saved from a machine with state access).

Both file forms are accepted: terraform's own (`{"name": {"sensitive": ..., "value": ...}}`)
and a plain `{"name": value}` object.

Database URLs: the local stack's outputs hold them whole (`<role>_database_url`). A deployed
stage's outputs hold no credential, only the endpoint and role names (`db_address`, `db_port`,
`db_name`, `admin_username`, `writer_role`, `reader_role`); its URLs are built here with the
password of the moment: the writer's is an RDS IAM token signed locally with the operator's
AWS credentials, the admin's and reader's come from PGPASSWORD (or a prompt on a terminal).
Every user name and password is percent-encoded (a space as %20, never +), as libpq decodes it.
"""
import getpass
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from invoke import Exit

from ops.functions import ROOT, checked_name

INFRASTRUCTURE_DIR = ROOT / "infrastructure"
LOCAL_STACK_FILE = ROOT / ".local" / "stack.json"
OUTPUTS_FILE_VARIABLE = "ANALYTICS_OUTPUTS_FILE"
LOCAL = "local"
SHARED = "shared"

# Always masked, whether or not the source marks them sensitive (a plain stack.json cannot).
SENSITIVE = frozenset(
    {"admin_database_url", "writer_database_url", "reader_database_url", "publisher_secret_access_key"}
)
# The output that names each function's deployed name.
FUNCTION_OUTPUT = {
    "analytics_collector": "collector_function_name",
    "analytics_consumer": "consumer_function_name",
    "analytics_worker": "worker_function_name",
}
ROLES = ("admin", "writer", "reader")
# The output naming each role's database user in a deployed stage.
ROLE_USER_OUTPUT = {"admin": "admin_username", "writer": "writer_role", "reader": "reader_role"}
PASSWORD_VARIABLE = "PGPASSWORD"
# libpq's own variable for a CA bundle; given, the URLs ask for verify-full.
SSLROOTCERT_VARIABLE = "PGSSLROOTCERT"


def parse_outputs(document):
    """(values, sensitive names) from terraform's `output -json` document or a plain JSON object."""
    if not isinstance(document, dict):
        raise ValueError("the outputs must be a JSON object")
    terraform_form = bool(document) and all(isinstance(v, dict) and "value" in v for v in document.values())
    if terraform_form:
        values = {name: entry["value"] for name, entry in document.items()}
        sensitive = {name for name, entry in document.items() if entry.get("sensitive")}
    else:
        values = dict(document)
        sensitive = set()
    return values, frozenset(sensitive | (SENSITIVE & values.keys()))


@dataclass
class Stage:
    env: str
    values: dict
    sensitive: frozenset = frozenset()
    source: str = ""
    _fallback: object = field(default=None, repr=False)  # callable giving the shared root's Stage, or None
    # (host, port, user, region) -> IAM auth token; None signs with boto3 and the standard credentials.
    token_signer: object = field(default=None, repr=False)

    def get(self, name):
        if name in self.values and self.values[name] not in (None, ""):
            return self.values[name]
        if self._fallback is not None:
            shared = self._fallback()
            if shared is not None and shared.values.get(name) not in (None, ""):
                return shared.values[name]
        raise Exit(
            f"Stage {self.env!r} has no output {name!r} (read from {self.source}). "
            f"Run `terraform -chdir=infrastructure/{self.env} apply` so that it exists, "
            "or add it to the outputs file."
        )

    @property
    def region(self):
        return self.values.get("region") or None

    def function_name(self, function):
        return self.get(FUNCTION_OUTPUT[checked_name(function)])

    def database_url(self, role):
        """libpq URL of `role` with its password: whole from the local stack, built for a deployed stage."""
        if role not in ROLES:
            raise Exit(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
        whole = self.values.get(f"{role}_database_url")
        if whole:
            return whole
        if not self.values.get("db_address") and self._fallback is None:
            return self.get(f"{role}_database_url")  # says which output is missing
        host, port, name = self.get("db_address"), int(self.get("db_port")), self.get("db_name")
        user = self.get(ROLE_USER_OUTPUT[role])
        password = self._iam_token(host, port, user) if role == "writer" else _password_from_operator(user, host)
        return build_url(host, port, name, user, password)

    def _iam_token(self, host, port, user):
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if self.token_signer is not None:
            return self.token_signer(host, port, user, region)
        from ops import aws

        with aws.errors(f"Signing an IAM auth token for {user}"):
            client = aws.session(stage=self).client("rds", region_name=region)
            return client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)

    def masked(self):
        """The values, secrets masked: database URLs keep all but their password."""
        shown = {}
        for name in sorted(self.values):
            value = self.values[name]
            shown[name] = mask(value) if name in self.sensitive else value
        return shown


def mask(value):
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None:
            return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:****@{parts.netloc.rpartition('@')[2]}"))
        return value if "password=" not in urlsplit(value).query else "(sensitive)"
    return "(sensitive)"


def _encoded(text):
    """Percent-encoding that libpq decodes: every reserved byte as %XX, a space as %20 (never +)."""
    return quote(text, safe="")


def with_credentials(url, password, user=None):
    """The URL logging in as `user` (default: the URL's own) with `password` (None: without one).

    `user` and `password` are plain text; they are percent-encoded here.
    """
    parts = urlsplit(url)
    login = (parts.username or "") if user is None else _encoded(user)
    if password is not None:
        login += f":{_encoded(password)}"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def password_of(url):
    """The plain-text password of a libpq URL (percent-decoded), or None."""
    password = urlsplit(url).password
    return None if password is None else unquote(password)


def build_url(host, port, database, user, password=None):
    """libpq URL of a deployed stage's database: TLS required, verify-full when PGSSLROOTCERT names a CA bundle."""
    query = {"sslmode": "require"}
    if os.environ.get(SSLROOTCERT_VARIABLE):
        query = {"sslmode": "verify-full", "sslrootcert": os.environ[SSLROOTCERT_VARIABLE]}
    bare = f"postgresql://{host}:{port}/{_encoded(database)}?{urlencode(query, quote_via=quote)}"
    return with_credentials(bare, password, user)


def _password_from_operator(user, host):
    """PGPASSWORD, or a prompt on a terminal: deployed stages keep no password anywhere."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Password of {user} at {host}: ")
    raise Exit(
        f"No password for {user}: deployed stages keep none. Set {PASSWORD_VARIABLE} "
        "(from your password manager) or run the task in a terminal to be asked for it."
    )


def _read_file(path, env):
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise Exit(f"Outputs file {path} does not exist: check {OUTPUTS_FILE_VARIABLE}.") from None
    except json.JSONDecodeError as error:
        raise Exit(f"Outputs file {path} is not valid JSON ({error}): fix or regenerate it.") from None
    try:
        values, sensitive = parse_outputs(document)
    except ValueError as error:
        raise Exit(f"Outputs file {path}: {error}.") from None
    return Stage(env, values, sensitive, source=str(path))


def terraform_outputs(root_name, required=True):
    """Stage-shaped outputs of infrastructure/<root_name> via `terraform output -json`."""
    root = INFRASTRUCTURE_DIR / root_name
    if not root.is_dir():
        if not required:
            return None
        known = sorted(p.parent.name for p in INFRASTRUCTURE_DIR.glob("*/main.tf") if p.parent.name != SHARED)
        raise Exit(f"No stage {root_name!r}: infrastructure/{root_name} does not exist (known stages: {', '.join(known + [LOCAL])}).")
    binary = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    if binary is None:
        raise Exit(
            "terraform is not installed (needed to read the stage's outputs): install Terraform >= 1.11 "
            f"(https://developer.hashicorp.com/terraform/install), or set {OUTPUTS_FILE_VARIABLE} to a saved "
            "`terraform output -json` document."
        )
    command = [binary, f"-chdir={root}", "output", "-no-color", "-json"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise Exit(f"`terraform -chdir=infrastructure/{root_name} output -json` did not answer within 120 s.") from None
    if result.returncode != 0:
        if not required:
            return None
        raise Exit(output_failed(root_name, result.stderr))
    try:
        document = json.loads(result.stdout or "{}")
        values, sensitive = parse_outputs(document)
    except (json.JSONDecodeError, ValueError) as error:
        raise Exit(f"terraform printed outputs that are not a JSON object ({error}).") from None
    if not values:
        if not required:
            return None
        raise Exit(
            f"Stage {root_name!r} has no outputs: its state is empty. "
            f"Deploy it first: `terraform -chdir=infrastructure/{root_name} init && "
            f"terraform -chdir=infrastructure/{root_name} apply`."
        )
    return Stage(root_name, values, sensitive, source=f"terraform -chdir=infrastructure/{root_name} output -json")


CREDENTIAL_SIGNS = ("credential", "expiredtoken", "accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch", "403")


def output_failed(root_name, stderr):
    """Two lines for a failed `terraform output`: what is wrong and what to do; Terraform's text when verbose."""
    chdir = f"terraform -chdir=infrastructure/{root_name}"
    text = stderr.lower()
    if "init" in text and ("backend" in text or "not initialized" in text or "terraform init" in text):
        message = (
            f"Stage {root_name!r} has no Terraform state on this machine (infrastructure/{root_name} is not initialised). "
            f"Run `{chdir} init -backend-config=\"bucket=<state bucket>\" -backend-config=\"region=<region>\"` "
            f"with AWS credentials, or set {OUTPUTS_FILE_VARIABLE} to a saved `terraform output -json`."
        )
    elif any(sign in text for sign in CREDENTIAL_SIGNS):
        message = (
            f"Stage {root_name!r}: Terraform could not read the state with the current AWS credentials. "
            "Set AWS_PROFILE (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) to an identity that may read the state bucket."
        )
    else:
        first = next((line.strip(" │╷╵") for line in stderr.splitlines() if line.strip(" │╷╵").startswith("Error")), "")
        message = f"`{chdir} output -json` failed{': ' + first if first else ''}. Check `{chdir} init` and access to the state."
    from ops import verbose

    return message + verbose.detail(stderr, "Terraform's full output")


def load(env):
    """The Stage for `env`; raises invoke.Exit with what to do when its outputs cannot be read."""
    if not env:
        raise Exit("No stage given: pass --env (e.g. --env dev) or set `env` in invoke.yaml.")
    override = os.environ.get(OUTPUTS_FILE_VARIABLE)
    if override:
        return _read_file(override, env)
    if env == LOCAL:
        if not LOCAL_STACK_FILE.exists():
            raise Exit(f"The local stack is not running ({LOCAL_STACK_FILE} is missing): start the local stack with `inv local`.")
        return _read_file(LOCAL_STACK_FILE, env)
    stage = terraform_outputs(env)
    cache = {}

    def shared():
        if "stage" not in cache:
            cache["stage"] = terraform_outputs(SHARED, required=False)
        return cache["stage"]

    stage._fallback = shared
    return stage
