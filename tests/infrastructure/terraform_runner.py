"""Real `terraform init / validate / plan` on a temporary copy of infrastructure/, for the tests.

Providers: where `TF_CLI_CONFIG_FILE` is set, Terraform uses it as it stands (a user's own
mirror or registry access); otherwise the stand-in providers of
`../shared/tools/terraform-offline` (real aws and postgresql schemas, no network) when that
folder sits beside the repository; otherwise `terraform init` downloads the real providers.
When none of that works the tests skip and say what to install.

A stage root reads the shared root's outputs through `terraform_remote_state` (S3); in the
copy, an override file (`offline_override.tf`, merged over the root's own blocks by
Terraform) swaps the backend and that data source for local files, and `shared.tfstate`
holds made-up shared outputs (`SHARED_OUTPUTS`). The Lambda zips are small dummy zips
written into the copy's `dist/` (Terraform only hashes them), so no `inv build` is needed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infrastructure"
STAND_IN_SETUP = REPO_ROOT.parent / "shared" / "tools" / "terraform-offline" / "setup"
STAGES = ("dev", "staging", "prod")
# Every module and every function there is, so a new one is validated and gets its dummy zip.
MODULES = tuple(sorted(path.parent.name for path in (INFRA / "modules").glob("*/main.tf")))
FUNCTIONS = tuple(sorted(path.name for path in (REPO_ROOT / "functions").iterdir() if path.is_dir() and not path.name.startswith((".", "_"))))
ARCHITECTURE = "x86_64"

REGION = "eu-central-1"
ACCOUNT = "123456789012"  # what the stand-in's aws_caller_identity answers
SHARED_OUTPUTS = {
    "region": REGION,
    "db_address": "analytics.c9akciq32.eu-central-1.rds.amazonaws.com",
    "db_port": 5432,
    "db_name": "analytics",
    "db_resource_id": "db-ABCDEFGHIJKLMNOPQRSTUVWXY0",
    "admin_username": "analytics_admin",
    "stages": {
        stage: {"schema": f"analytics_{stage}", "writer_role": f"analytics_{stage}_writer", "reader_role": f"analytics_{stage}_reader"}
        for stage in STAGES
    },
    "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0f0f0f-1111-2222-3333-444444444444",
    "security_group_id": "sg-0database00000001",
    "worker_security_group_id": "sg-0worker000000001",
    "subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
    "db_publicly_accessible": False,
}

# Values the shared root needs on the command line; the admin password goes in through the
# environment (TF_VAR_admin_password), as an operator gives it.
ADMIN_PASSWORD = "Gq7pXk2LmW9vRt4sZb8N-offline"
READER_SCRAM = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$c3RvcmVka2V5c3RvcmVka2V5:c2VydmVya2V5c2VydmVya2V5"
SHARED_VARS = {
    "public_access_cidr_blocks": ["203.0.113.10/32"],
    "reader_password_scrams": {stage: READER_SCRAM for stage in STAGES},
}
STAGE_VARS = {"state_bucket": "analytics-terraform-state-offline", "collector_cors_origins": ["https://shop.example.com"]}
# The collector's write keys are ephemeral: they go in through the environment, as the stage's sample says.
COLLECTOR_WRITE_KEY = "plan-test-key-0123456789"
STAGE_SECRETS = {"TF_VAR_collector_write_keys": f'{{"{COLLECTOR_WRITE_KEY}" = "website"}}'}

# Plans that must be refused, run together once: name -> (root, variables, environment).
ADMIN = {"TF_VAR_admin_password": ADMIN_PASSWORD}
REFUSALS = {
    "empty allow-list": ("shared", {**SHARED_VARS, "public_access_cidr_blocks": []}, ADMIN),
    "clear reader password": (
        "shared", {**SHARED_VARS, "reader_password_scrams": {s: "CHANGE-ME-at-least-16-characters" for s in STAGES}}, ADMIN,
    ),
    "prod removed": ("shared", {**SHARED_VARS, "stages": ["dev", "staging"]}, ADMIN),
    "placeholder admin password": ("shared", SHARED_VARS, {"TF_VAR_admin_password": "CHANGE-ME-at-least-16-characters"}),
    "weak admin password": ("shared", SHARED_VARS, {"TF_VAR_admin_password": "abababababababababababab"}),
    "admin password with a space": ("shared", SHARED_VARS, {"TF_VAR_admin_password": "has a space in it 12345"}),
    "stage in another region": ("dev", {**STAGE_VARS, "region": "us-east-1"}, {}),
    "reserved concurrency 0": ("dev", {**STAGE_VARS, "worker_reserved_concurrency": 0}, {}),
    "stream batch without a window": (
        "dev", {**STAGE_VARS, "delivery_mode": "stream", "stream_batch_size": 100, "stream_batching_window_seconds": 0}, {},
    ),
    "unknown delivery mode": ("dev", {**STAGE_VARS, "delivery_mode": "push"}, {}),
    "collector origin with a path": ("dev", {**STAGE_VARS, "collector_cors_origins": ["https://shop.example.com/"]}, STAGE_SECRETS),
    "collector write key too short": ("dev", STAGE_VARS, {"TF_VAR_collector_write_keys": '{"short" = "web"}'}),
}


class TerraformUnavailable(Exception):
    """Why Terraform cannot run here, phrased as what to install."""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self):
        return self.stdout + self.stderr


def terraform_environment():
    """The environment for terraform: plugin config (stand-in or the user's), no colour, no prompts."""
    binary = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    if binary is None:
        raise TerraformUnavailable(
            "terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)"
        )
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    env.pop("TF_VAR_admin_password", None)
    configured = os.environ.get("TF_CLI_CONFIG_FILE")
    # A config naming no file (some images set TF_CLI_CONFIG_FILE=~/.terraformrc without one) counts as unset.
    if not (configured and Path(configured).is_file()) and STAND_IN_SETUP.exists():
        setup = subprocess.run([str(STAND_IN_SETUP)], capture_output=True, text=True, timeout=600)
        if setup.returncode != 0:
            raise TerraformUnavailable(f"{STAND_IN_SETUP} failed ({setup.stderr.strip()[-400:]})")
        env["TF_CLI_CONFIG_FILE"] = setup.stdout.strip().splitlines()[-1]
    return binary, env


class Terraform:
    def __init__(self, binary, env):
        self.binary, self.env = binary, env

    def run(self, directory, *args, extra_env=None, timeout=300):
        completed = subprocess.run(
            [self.binary, f"-chdir={directory}", *args, "-no-color"],
            capture_output=True, text=True, timeout=timeout, env={**self.env, **(extra_env or {})},
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def start(self, directory, *args, extra_env=None):
        return subprocess.Popen(
            [self.binary, f"-chdir={directory}", *args, "-no-color"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**self.env, **(extra_env or {})},
        )

    def init(self, directory, backend=True):
        result = self.run(directory, "init", "-input=false", *([] if backend else ["-backend=false"]))
        if result.returncode != 0:
            raise TerraformUnavailable(
                f"`terraform init` in {directory} failed: the providers could not be installed. Either give "
                f"Terraform registry access, or put the stand-in providers at {STAND_IN_SETUP.parent} "
                f"(or set TF_CLI_CONFIG_FILE to a mirror).\n{result.stderr.strip()[-800:]}"
            )

    def show_json(self, directory, plan_file):
        result = self.run(directory, "show", "-json", str(plan_file))
        assert result.returncode == 0, result.output
        return json.loads(result.stdout)


# --------------------------------------------------------------- the copy ---


def copy_infrastructure(target):
    """infrastructure/ copied to target/infrastructure (no .terraform/ or lock file), with dummy zips in target/dist."""
    shutil.copytree(
        INFRA, target / "infrastructure",
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*", "*.tfvars"),
    )
    dist = target / "dist"
    dist.mkdir(exist_ok=True)
    for function in FUNCTIONS:
        with zipfile.ZipFile(dist / f"{function}-{ARCHITECTURE}.zip", "w") as archive:
            archive.writestr("main.py", "def main(event, context):\n    return None\n")
    return target / "infrastructure"


def _state_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return ["tuple", [_state_type(item) for item in value]]
    return ["object", {key: _state_type(item) for key, item in value.items()}]


def write_shared_state(path, outputs=None):
    """A state file (format 4) that holds only the shared root's outputs."""
    outputs = SHARED_OUTPUTS if outputs is None else outputs
    state = {
        "version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "offline-shared-outputs",
        "outputs": {name: {"value": value, "type": _state_type(value)} for name, value in outputs.items()},
        "resources": [], "check_results": None,
    }
    path.write_text(json.dumps(state, indent=1))
    return path


def override_backend(root, state_dir, shared_state=None):
    """offline_override.tf: a local backend and, for a stage root, the shared outputs from a local file."""
    text = f'terraform {{\n  backend "local" {{\n    path = "{state_dir / (root.name + ".tfstate")}"\n  }}\n}}\n'
    if shared_state is not None:
        text += (
            'data "terraform_remote_state" "shared" {\n  backend = "local"\n'
            f'  config = {{\n    path = "{shared_state}"\n  }}\n}}\n'
        )
    (root / "offline_override.tf").write_text(text)


def var_args(variables):
    args = []
    for name, value in variables.items():
        args += ["-var", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    return args


def plan_args(plan_file, variables):
    return ["plan", "-refresh=false", "-input=false", "-lock=false", f"-out={plan_file}", *var_args(variables)]


# ---------------------------------------------------------------- a plan ---


def flat(text):
    """Terraform's text output with its line wrapping undone."""
    return " ".join(text.replace("│", " ").split())


class Plan:
    """`terraform show -json` of a saved plan, with finders for the tests."""

    def __init__(self, document, plan_file=None, output=""):
        self.document, self.plan_file, self.output = document, plan_file, output

    @property
    def changes(self):
        return [change for change in self.document.get("resource_changes", []) if change["mode"] == "managed"]

    def resources(self, resource_type, name=None):
        """The planned `after` values of every managed resource of a type (and name), by address."""
        return {
            change["address"]: change["change"]["after"]
            for change in self.changes
            if change["type"] == resource_type and (name is None or change["name"] == name)
        }

    def resource(self, address):
        for change in self.changes:
            if change["address"] == address:
                return change["change"]["after"]
        raise KeyError(f"{address} is not in the plan; planned: {sorted(c['address'] for c in self.changes)}")

    def unknown(self, address):
        for change in self.changes:
            if change["address"] == address:
                return change["change"]["after_unknown"]
        raise KeyError(address)

    def data(self, address):
        """Values of a data source read during the plan (or its planned read)."""
        def walk(module):
            yield from module.get("resources", [])
            for child in module.get("child_modules", []):
                yield from walk(child)

        prior = self.document.get("prior_state", {}).get("values", {}).get("root_module", {})
        for resource in walk(prior):
            if resource["address"] == address:
                return resource["values"]
        for change in self.document.get("resource_changes", []):
            if change["address"] == address:
                return change["change"]["after"]
        raise KeyError(address)

    def config(self, module_path, resource_address):
        """The configuration (expressions, references) of a resource inside nested module calls."""
        module = self.document["configuration"]["root_module"]
        for call in module_path:
            module = module["module_calls"][call]["module"]
        for resource in module.get("resources", []):
            if resource["address"] == resource_address:
                return resource
        raise KeyError(resource_address)

    @property
    def outputs(self):
        return self.document.get("planned_values", {}).get("outputs", {})

    @property
    def provider_names(self):
        return {config["name"] for config in self.document.get("configuration", {}).get("provider_config", {}).values()}

    def count(self, action="create"):
        return sum(1 for change in self.changes if action in change["change"]["actions"])
