"""The team's conventions for infrastructure/ that Terraform does not check (see hcl_checks.py).

Arguments, types, references, module calls and sensitive outputs are checked by Terraform
itself: test_terraform_validate.py and test_plans.py.
"""
import re

import pytest

import hcl_checks
from hcl_checks import INFRA

DIRS = hcl_checks.terraform_dirs()
DIR_IDS = [str(path.relative_to(INFRA)) for path in DIRS]
STAGES = ("dev", "staging", "prod")
MODULES = ("lambda", "shared", "messaging", "analytics_db", "analytics_queue", "collector")


def assert_no_problems(problems):
    assert not problems, "\n" + "\n".join(str(problem) for problem in problems)


# --------------------------------------------------------------- layout ---


def test_every_expected_module_and_root_is_there():
    # GIVEN the design's layout
    expected = {f"modules/{name}" for name in MODULES} | {"shared", *STAGES}
    # WHEN listing the folders that hold Terraform code
    found = set(DIR_IDS)
    # THEN each module and root exists, and nothing else
    assert found == expected


@pytest.mark.parametrize("name", MODULES)
def test_module_has_the_standard_files_and_a_readme_naming_every_input_and_output(name):
    # GIVEN a module folder
    directory = INFRA / "modules" / name
    # WHEN reading its files
    files = {path.name for path in directory.iterdir()}
    config = hcl_checks.load_config(directory)
    readme = (directory / "README.md").read_text() if (directory / "README.md").exists() else ""
    # THEN it has main/variables/outputs/versions.tf and a README listing its interface
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} <= files
    missing = [n for n in config.names("variable") | config.names("output") if f"`{n}`" not in readme]
    assert not missing, f"README.md of {name} does not mention: {', '.join(sorted(missing))}"


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_providers_and_terraform_are_pinned(directory):
    # GIVEN a module or root
    config = hcl_checks.load_config(directory)
    # WHEN reading its terraform block
    required = config.required_providers()
    versions = [hcl_checks.unquote(b.body.get("required_version")) for b in config.of("terraform")]
    # THEN Terraform 1.11+ is required (write-only arguments) and every provider is pinned to its major version
    assert ">= 1.11" in versions
    pins = {"hashicorp/aws": "~> 6.0", "cyrilgdn/postgresql": "~> 1.26"}
    for name, spec in required.items():
        assert spec["source"] in pins, f"{name}: unexpected provider {spec['source']}"
        assert spec["version"] == pins[spec["source"]], f"{name}: version {spec['version']!r}"


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_every_variable_is_typed_and_described(directory):
    # GIVEN a module or root
    config = hcl_checks.load_config(directory)
    # WHEN reading its variables and outputs
    problems = hcl_checks.check_variables_and_outputs(config)
    # THEN each has a type and a description
    assert_no_problems(problems)


# --------------------------------------------------------------- roots ---


def root_configs():
    return {name: hcl_checks.load_config(INFRA / name) for name in ("shared", *STAGES)}


def test_each_root_has_its_own_s3_state_with_locking_and_the_bucket_left_to_init():
    # GIVEN the shared and stage roots
    roots = root_configs()
    keys = {}
    for name, config in roots.items():
        # WHEN reading the backend
        (backend,) = [entry for block in config.of("terraform") for entry in block.body.get("backend", [])]
        ((kind, settings),) = hcl_checks.body_items(backend)
        # THEN it is S3 with a lock file, encrypted, without a hard-coded bucket
        assert hcl_checks.unquote(kind) == "s3"
        assert settings.get("use_lockfile") is True and settings.get("encrypt") is True
        assert "bucket" not in settings, f"{name}: pass the bucket with -backend-config"
        keys[name] = hcl_checks.unquote(settings["key"])
    # AND every root's state key is distinct
    assert len(set(keys.values())) == len(keys), keys


def normalized(stage, text):
    return re.sub(rf"\b{stage}\b", "<stage>", text)


def test_stage_roots_differ_only_in_their_stage_values():
    # GIVEN the dev root as the model
    model = INFRA / "dev"
    files = sorted(path.name for path in model.iterdir() if path.is_file())
    for stage in STAGES:
        directory = INFRA / stage
        # WHEN comparing each stage root's files with the stage name masked
        assert sorted(path.name for path in directory.iterdir() if path.is_file()) == files, stage
        for name in files:
            # THEN they are the same text
            assert normalized(stage, (directory / name).read_text()) == normalized("dev", (model / name).read_text()), f"{stage}/{name}"
        # AND the stage values are the stage's own
        config = hcl_checks.load_config(directory)
        assert hcl_checks.unquote(config.locals()["stage"]) == stage
        assert hcl_checks.backend_key(config) == f"analytics/{stage}/terraform.tfstate"


STAGE_OUTPUTS = {
    "stage", "region", "topic_arn", "queue_url", "queue_arn", "dlq_url", "schema", "consumer_function_name",
    "worker_function_name", "db_address", "db_port", "db_name", "admin_username", "writer_role", "reader_role",
    "publisher_access_key_id", "publisher_secret_access_key", "alerts_topic_arn",
}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_root_outputs_keep_the_names_the_tasks_read(stage):
    # GIVEN a stage root
    config = hcl_checks.load_config(INFRA / stage)
    # WHEN reading its outputs
    outputs = {block.labels[0]: block.body.get("sensitive") is True for block in config.of("output")}
    # THEN every output the inv tasks read is there, and only the publisher's key is a secret
    assert STAGE_OUTPUTS <= set(outputs), STAGE_OUTPUTS - set(outputs)
    assert {name for name, sensitive in outputs.items() if sensitive} == {"publisher_secret_access_key"}


def test_secrets_go_in_the_tfvars_sample_and_ephemeral_ones_never_do():
    for name in ("shared", *STAGES):
        config = hcl_checks.load_config(INFRA / name)
        sample = (INFRA / name / "terraform.tfvars.sample").read_text()
        for block in config.of("variable"):
            variable = block.labels[0]
            written = re.search(rf"^{variable}\s*=", sample, re.M)
            if block.body.get("ephemeral") is True:
                # an ephemeral value is given on each run (TF_VAR_...), never kept in a file
                assert not written, f"{name}: {variable} is ephemeral and must not be in the sample"
                assert f"TF_VAR_{variable}" in sample, f"{name}: the sample must say how to give {variable}"
            elif block.body.get("sensitive") is True:
                assert written, f"{name}: {variable} not in the sample"


# ------------------------------------------------------- contract names ---


def test_resource_names_follow_the_contract():
    # GIVEN the analytics_queue, messaging and analytics_db modules and a stage root
    queue = (INFRA / "modules/analytics_queue/main.tf").read_text()
    root = (INFRA / "dev/main.tf").read_text()
    db = (INFRA / "modules/analytics_db/main.tf").read_text()
    # THEN the names other parts of the project rely on are spelled as agreed
    for snippet in (
        'queue_name    = "analytics_events_${var.stage}"',
        'dlq_name      = "analytics_events_${var.stage}_dlq"',
        'consumer_name = "analytics_consumer_${var.stage}"',
        'worker_name   = "analytics_worker_${var.stage}"',
        "raw_message_delivery = true",
    ):
        assert snippet in queue, snippet
    for snippet in (
        'topic_name          = "event_created_${local.stage}"',
        '"${local.dist_dir}/analytics_consumer-${var.architecture}.zip"',
        '"${local.dist_dir}/analytics_worker-${var.architecture}.zip"',
    ):
        assert snippet in root, snippet
    assert 'writer_role = "${var.schema_name}_writer"' in db and 'reader_role = "${var.schema_name}_reader"' in db
    assert 'schema_name           = "analytics_${each.key}"' in (INFRA / "shared/main.tf").read_text()


def test_queue_defaults_follow_the_contract():
    config = hcl_checks.load_config(INFRA / "modules/analytics_queue")
    defaults = {b.labels[0]: b.body.get("default") for b in config.of("variable")}
    assert defaults["max_receive_count"] == 5
    assert hcl_checks.unquote(defaults["schedule_expression"]) == "rate(5 minutes)"
    lambda_defaults = {b.labels[0]: hcl_checks.unquote(b.body.get("default")) for b in hcl_checks.load_config(INFRA / "modules/lambda").of("variable")}
    assert lambda_defaults["handler"] == "main.main"
    assert lambda_defaults["runtime"] == "python3.12"
    assert lambda_defaults["architecture"] == "x86_64"
