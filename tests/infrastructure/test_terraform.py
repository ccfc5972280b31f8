"""Offline validation of infrastructure/: what `terraform validate` would say, and more.

The schema tests need the provider schemas (../shared/terraform-schemas, or
TERRAFORM_SCHEMAS_DIR); without them they skip and say why.
"""
import re
import shutil

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
    # THEN Terraform 1.10+ is required and every provider is pinned to its major version
    assert ">= 1.10" in versions
    pins = {"hashicorp/aws": "~> 6.0", "cyrilgdn/postgresql": "~> 1.26"}
    for name, spec in required.items():
        assert spec["source"] in pins, f"{name}: unexpected provider {spec['source']}"
        assert spec["version"] == pins[spec["source"]], f"{name}: version {spec['version']!r}"


# -------------------------------------------------------------- schemas ---


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_every_resource_data_and_provider_block_matches_the_provider_schema(directory, schemas):
    # GIVEN a module or root and the providers' schemas
    config = hcl_checks.load_config(directory)
    # WHEN checking each block's arguments and nested blocks
    problems = hcl_checks.check_schema(config, schemas)
    # THEN none is unknown, missing, computed-only or there too often / too rarely
    assert_no_problems(problems)


@pytest.fixture
def lambda_copy(tmp_path):
    """A copy of modules/lambda to plant mistakes in."""
    target = tmp_path / "modules" / "lambda"
    shutil.copytree(INFRA / "modules" / "lambda", target)
    return target


def plant(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_misspelled_and_a_missing_required_argument_are_reported_by_file_block_and_name(lambda_copy, schemas):
    # GIVEN a copy of the lambda module with a misspelled argument and a required one removed
    main = lambda_copy / "main.tf"
    plant(main, "  memory_size                    = var.memory_size\n", "  memory_sise                    = var.memory_size\n")
    plant(main, "  role                           = aws_iam_role.this.arn\n", "")
    # WHEN checking it against the schema
    messages = [str(p) for p in hcl_checks.check_schema(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN both mistakes are reported, each naming the file, the block and the argument
    assert len(messages) == 2, messages
    block = 'resource "aws_lambda_function" "this"'
    assert any(
        str(main) in m and block in m and 'unknown argument "memory_sise"' in m and 'did you mean "memory_size"' in m
        for m in messages
    ), messages
    assert any(str(main) in m and block in m and 'missing required argument "role"' in m for m in messages), messages


def test_nested_block_mistakes_are_reported(lambda_copy, schemas):
    # GIVEN a second tracing_config block, an unknown nested block and an argument written as a block
    main = lambda_copy / "main.tf"
    plant(main, "  tracing_config {\n", "  tracing_config {\n    mode = \"Active\"\n  }\n\n  tracing_config {\n")
    plant(main, "  logging_config {\n", "  loging_config {\n    log_format = \"JSON\"\n  }\n\n  logging_config {\n")
    plant(main, "  tags                           = var.tags\n", "  tags {\n  }\n")
    # WHEN checking it
    messages = [str(p) for p in hcl_checks.check_schema(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN each is named
    assert any('too many "tracing_config" blocks: 2, at most 1' in m for m in messages), messages
    assert any('unknown nested block "loging_config"' in m for m in messages), messages
    assert any('"tags" is an argument' in m for m in messages), messages


def test_a_missing_required_nested_block_argument_is_reported(lambda_copy, schemas):
    # GIVEN a logging_config without its required log_format
    plant(lambda_copy / "main.tf", '    log_format = "Text"\n', "")
    # WHEN checking it
    messages = [str(p) for p in hcl_checks.check_schema(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN the nested block path and the argument are named
    assert any('resource "aws_lambda_function" "this" > logging_config: missing required argument "log_format"' in m for m in messages), messages


def test_too_few_nested_blocks_are_reported(lambda_copy, schemas):
    # GIVEN a capacity_provider_config without the nested block it requires
    plant(lambda_copy / "main.tf", "  tracing_config {\n", "  capacity_provider_config {\n  }\n\n  tracing_config {\n")
    # WHEN checking it
    messages = [str(p) for p in hcl_checks.check_schema(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN the missing nested block is named
    assert any(
        "> capacity_provider_config" in m and 'missing required nested block "lambda_managed_instances_capacity_provider_config"' in m
        for m in messages
    ), messages


def test_an_unknown_resource_type_is_reported(lambda_copy, schemas):
    # GIVEN a misspelled resource type
    plant(lambda_copy / "main.tf", 'resource "aws_cloudwatch_log_group" "this"', 'resource "aws_cloudwatch_loggroup" "this"')
    # WHEN checking it
    messages = [str(p) for p in hcl_checks.check_schema(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN the type is named, with the closest real one
    assert any('unknown resource type "aws_cloudwatch_loggroup"' in m and "aws_cloudwatch_log_group" in m for m in messages), messages


# --------------------------------------------------------- module calls ---


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_every_module_call_passes_exactly_the_modules_variables(directory):
    # GIVEN a module or root
    config = hcl_checks.load_config(directory)
    # WHEN comparing each module call with the called module's variables
    problems = hcl_checks.check_module_calls(config)
    # THEN no argument is unknown and no required variable is left out
    assert_no_problems(problems)


def test_a_wrong_module_argument_is_reported(tmp_path):
    # GIVEN a copy of the infrastructure whose dev root misspells one module argument and drops another
    shutil.copytree(INFRA, tmp_path / "infrastructure")
    main = tmp_path / "infrastructure" / "dev" / "main.tf"
    plant(main, "  writer_password = var.writer_password\n", "  writer_pasword = var.writer_password\n")
    plant(main, "  topic_name          = \"event_created_${local.stage}\"\n", "")
    # WHEN checking the module calls
    messages = [str(p) for p in hcl_checks.check_module_calls(hcl_checks.load_config(main.parent))]
    # THEN both are named with file and block
    assert any(str(main) in m and 'module "analytics_db"' in m and 'unknown argument "writer_pasword"' in m for m in messages), messages
    assert any(str(main) in m and 'module "messaging"' in m and 'missing required argument "topic_name"' in m for m in messages), messages


# ----------------------------------------------------------- references ---


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_every_reference_resolves(directory, schemas):
    # GIVEN a module or root
    config = hcl_checks.load_config(directory)
    # WHEN resolving each var., local., module., data. and resource reference (attributes by schema)
    problems = hcl_checks.check_references(config, schemas)
    # THEN each names something declared
    assert_no_problems(problems)


def test_unresolved_references_are_reported(lambda_copy, schemas):
    # GIVEN references to an undeclared variable, local, resource and a wrong attribute
    main = lambda_copy / "main.tf"
    plant(main, "handler                        = var.handler", "handler                        = var.handlr")
    plant(main, "runtime                        = var.runtime", "runtime                        = local.runtime")
    plant(main, "role                           = aws_iam_role.this.arn", "role                           = aws_iam_role.that.arn")
    plant(main, "log_group  = aws_cloudwatch_log_group.this.name", "log_group  = aws_cloudwatch_log_group.this.nam")
    # WHEN resolving them
    messages = [str(p) for p in hcl_checks.check_references(hcl_checks.load_config(lambda_copy), schemas)]
    # THEN each is named
    for expected in ('"var.handlr"', '"local.runtime"', '"aws_iam_role.that.arn"', 'has no attribute "nam"'):
        assert any(expected in m for m in messages), (expected, messages)


@pytest.mark.parametrize("directory", DIRS, ids=DIR_IDS)
def test_outputs_carrying_secrets_are_sensitive(directory, schemas):
    # GIVEN a module or root
    config = hcl_checks.load_config(directory)
    # WHEN following each output's references
    problems = hcl_checks.check_sensitive_outputs(config, schemas)
    # THEN an output built from a sensitive value is marked sensitive (terraform would refuse it)
    assert_no_problems(problems)


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


def test_stage_roots_read_only_outputs_the_shared_root_defines():
    # GIVEN the roots by backend key
    roots = {hcl_checks.backend_key(config): config for config in root_configs().values()}
    for stage in STAGES:
        # WHEN following the stage root's terraform_remote_state reads
        problems = hcl_checks.check_remote_state_outputs(roots[f"analytics/{stage}/terraform.tfstate"], roots)
        # THEN each read output exists in the shared root
        assert_no_problems(problems)


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
    "stage": False, "region": False, "topic_arn": False, "queue_url": False, "queue_arn": False,
    "dlq_url": False, "schema": False, "consumer_function_name": False, "worker_function_name": False,
    "admin_database_url": True, "writer_database_url": True, "reader_database_url": True,
    "publisher_access_key_id": False, "publisher_secret_access_key": True, "alerts_topic_arn": False,
}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_root_outputs_keep_the_names_the_tasks_read(stage):
    # GIVEN a stage root
    config = hcl_checks.load_config(INFRA / stage)
    # WHEN reading its outputs
    outputs = {block.labels[0]: block.body.get("sensitive") is True for block in config.of("output")}
    # THEN every output the inv tasks read is there, the secret ones sensitive
    for name, sensitive in STAGE_OUTPUTS.items():
        assert name in outputs, f"{stage}: output {name} missing"
        if sensitive:
            assert outputs[name], f"{stage}: output {name} must be sensitive"


def test_shared_root_outputs_the_database_endpoint():
    config = hcl_checks.load_config(INFRA / "shared")
    outputs = {block.labels[0]: block.body.get("sensitive") is True for block in config.of("output")}
    assert {"db_address", "db_port", "db_name", "admin_database_url"} <= set(outputs)
    assert outputs["admin_database_url"]


def test_stage_roots_that_need_secrets_ship_a_tfvars_sample():
    for name in ("shared", *STAGES):
        config = hcl_checks.load_config(INFRA / name)
        secrets = [b.labels[0] for b in config.of("variable") if b.body.get("sensitive") is True]
        sample = INFRA / name / "terraform.tfvars.sample"
        assert sample.exists(), name
        for variable in secrets:
            assert re.search(rf"^{variable}\s*=", sample.read_text(), re.M), f"{name}: {variable} not in the sample"


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
        'schema_name     = "analytics_${local.stage}"',
        '"${local.dist_dir}/analytics_consumer-${var.architecture}.zip"',
        '"${local.dist_dir}/analytics_worker-${var.architecture}.zip"',
    ):
        assert snippet in root, snippet
    assert 'writer_role = "${var.schema_name}_writer"' in db and 'reader_role = "${var.schema_name}_reader"' in db


def test_queue_defaults_follow_the_contract():
    config = hcl_checks.load_config(INFRA / "modules/analytics_queue")
    defaults = {b.labels[0]: b.body.get("default") for b in config.of("variable")}
    assert defaults["max_receive_count"] == 5
    assert hcl_checks.unquote(defaults["schedule_expression"]) == "rate(5 minutes)"
    lambda_defaults = {b.labels[0]: hcl_checks.unquote(b.body.get("default")) for b in hcl_checks.load_config(INFRA / "modules/lambda").of("variable")}
    assert lambda_defaults["handler"] == "main.main"
    assert lambda_defaults["runtime"] == "python3.12"
    assert lambda_defaults["architecture"] == "x86_64"
