"""Session fixtures of the Terraform tests: one copy of infrastructure/, initialised once, and the
plans of the shared root, of every stage root and of the shared module with its defaults, made
once (in parallel) and shared by every test. See terraform_runner.py for where the providers
come from; without Terraform or providers the tests skip and say what to install."""
import os

import pytest

import terraform_runner as tf


@pytest.fixture(scope="session")
def terraform():
    try:
        binary, env = tf.terraform_environment()
    except tf.TerraformUnavailable as missing:
        pytest.skip(str(missing))
    return tf.Terraform(binary, env)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, terraform):
    """A copy of infrastructure/ whose roots and modules are all initialised."""
    base = tmp_path_factory.mktemp("terraform")
    infra = tf.copy_infrastructure(base)
    states = base / "states"
    states.mkdir()
    shared_state = tf.write_shared_state(base / "shared-outputs.tfstate")
    tf.override_backend(infra / "shared", states)
    for stage in tf.STAGES:
        tf.override_backend(infra / stage, states, shared_state)
    wrapper = infra / "offline_module_defaults"
    wrapper.mkdir()
    (wrapper / "main.tf").write_text(MODULE_DEFAULTS_ROOT)
    tf.override_backend(wrapper, states)
    directories = [infra / "shared", *(infra / stage for stage in tf.STAGES), wrapper, *(infra / "modules" / m for m in tf.MODULES)]
    processes = {d: terraform.start(d, "init", "-input=false") for d in directories}
    for directory, process in processes.items():
        _, err = process.communicate(timeout=600)
        if process.returncode != 0:
            pytest.skip(
                f"`terraform init` in {directory.name} failed: the providers could not be installed. Give Terraform "
                f"registry access, or put the stand-in providers at {tf.STAND_IN_SETUP.parent} (or set "
                f"TF_CLI_CONFIG_FILE to a provider mirror).\n{err.strip()[-600:]}"
            )
    return base


# A root that calls the shared module with nothing but its required inputs: what its defaults plan.
MODULE_DEFAULTS_ROOT = """
variable "admin_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "aws" {
  region = "eu-central-1"
}

module "shared" {
  source         = "../modules/shared"
  admin_password = var.admin_password
}
"""


def _plans(terraform, workspace, jobs):
    """{name: Plan} of several plans run at once: jobs maps a name to (directory, variables, environment)."""
    started = {}
    for name, (directory, variables, env) in jobs.items():
        plan_file = workspace / f"{name}.tfplan"
        started[name] = (directory, plan_file, terraform.start(directory, *tf.plan_args(plan_file, variables), extra_env=env))
    plans = {}
    for name, (directory, plan_file, process) in started.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"plan of {name} failed:\n{out}\n{err}"
        plans[name] = tf.Plan(terraform.show_json(directory, plan_file), plan_file, out)
    return plans


@pytest.fixture(scope="session")
def plans(terraform, workspace):
    """The plans of the shared root, each stage root (with the collector's write keys and a CORS origin), dev in
    stream mode and the shared module's defaults, by name."""
    infra = workspace / "infrastructure"
    secret = {"TF_VAR_admin_password": tf.ADMIN_PASSWORD}
    jobs = {
        "shared": (infra / "shared", tf.SHARED_VARS, secret),
        "module_defaults": (infra / "offline_module_defaults", {}, secret),
        **{stage: (infra / stage, tf.STAGE_VARS, tf.STAGE_SECRETS) for stage in tf.STAGES},
        "dev_stream": (infra / "dev", {**tf.STAGE_VARS, "delivery_mode": "stream"}, tf.STAGE_SECRETS),
    }
    return _plans(terraform, workspace, jobs)


@pytest.fixture(scope="session")
def shared_plan(plans):
    return plans["shared"]


@pytest.fixture(scope="session")
def dev_plan(plans):
    return plans["dev"]


@pytest.fixture(scope="session")
def refusals(terraform, workspace, plans):
    """{name: (exit code, output)} of the terraform_runner.REFUSALS plans, run at once."""
    started = {}
    for name, (root, variables, env) in tf.REFUSALS.items():
        plan_file = workspace / f"refused-{len(started)}.tfplan"
        started[name] = terraform.start(workspace / "infrastructure" / root, *tf.plan_args(plan_file, variables), extra_env=env)
    results = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=600)
        results[name] = (process.returncode, out + err)
    return results


@pytest.fixture
def plan_with(terraform, workspace):
    """Plan one root of the session's copy with other variables: (returncode, output, Plan or None)."""
    counter = iter(range(1_000_000))

    def run(root, variables, env=None):
        directory = workspace / "infrastructure" / root
        plan_file = workspace / f"{root}-{os.getpid()}-{next(counter)}-{id(variables)}.tfplan"
        result = terraform.run(directory, *tf.plan_args(plan_file, variables), extra_env=env)
        plan = tf.Plan(terraform.show_json(directory, plan_file), plan_file, result.output) if result.returncode == 0 else None
        return result.returncode, result.output, plan

    return run
