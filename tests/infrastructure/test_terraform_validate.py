"""`terraform validate` on every root and module, with the real provider schemas (stand-ins here).

Terraform's own checks replace the offline schema checker this folder used to have: a
misspelled argument, a value of the wrong type and a reference to an attribute a resource
does not export each fail `validate` with Terraform's message, as the planted mistakes show.
"""
import json
import shutil

import pytest

import terraform_runner as tf

ROOTS = ("shared", *tf.STAGES)
DIRECTORIES = [*ROOTS, *(f"modules/{name}" for name in tf.MODULES)]


def validate(terraform, directory):
    """Terraform's diagnostics for `directory` as 'summary: detail' lines; AssertionError when it is invalid."""
    result = terraform.run(directory, "validate", "-json")
    report = json.loads(result.stdout)
    messages = [
        f"{d['severity']}: {d['summary']}: {' '.join(d.get('detail', '').split())}"
        + (f" ({d['range']['filename']}:{d['range']['start']['line']})" if d.get("range") else "")
        for d in report.get("diagnostics", [])
    ]
    assert report["valid"] and result.returncode == 0, "terraform validate failed:\n" + "\n".join(messages)
    return messages


@pytest.mark.parametrize("name", DIRECTORIES)
def test_terraform_validate_passes(terraform, workspace, name):
    # GIVEN a root or module of the session's initialised copy
    directory = workspace / "infrastructure" / name
    # WHEN terraform validates it against the providers' schemas
    # THEN it is valid, without warnings
    assert validate(terraform, directory) == []


@pytest.fixture
def lambda_module(terraform, tmp_path):
    """A fresh, initialised copy of modules/lambda to plant a mistake in."""
    target = tmp_path / "lambda"
    shutil.copytree(tf.INFRA / "modules" / "lambda", target, ignore=shutil.ignore_patterns(".terraform*"))
    terraform.init(target, backend=False)
    return target


def plant(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


PLANTED = {
    "misspelled argument": (
        "  memory_size                    = var.memory_size\n",
        "  memory_sise                    = var.memory_size\n",
        ['Unsupported argument: An argument named "memory_sise" is not expected here. Did you mean "memory_size"?'],
    ),
    "string where a number belongs": (
        "  timeout                        = var.timeout\n",
        '  timeout                        = "one minute"\n',
        ['Incorrect attribute value type: Inappropriate value for attribute "timeout": a number is required.'],
    ),
    "attribute the resource does not export": (
        "    log_group  = aws_cloudwatch_log_group.this.name\n",
        "    log_group  = aws_cloudwatch_log_group.this.group_name\n",
        ['Unsupported attribute: This object has no argument, nested block, or exported attribute named "group_name".'],
    ),
}


@pytest.mark.parametrize("mistake", PLANTED)
def test_a_planted_mistake_fails_validation_with_terraforms_message(terraform, lambda_module, mistake):
    # GIVEN a copy of the lambda module with one mistake planted in main.tf
    old, new, expected = PLANTED[mistake]
    plant(lambda_module / "main.tf", old, new)
    # WHEN the suite's validation runs on it
    with pytest.raises(AssertionError) as failure:
        validate(terraform, lambda_module)
    # THEN it fails, with Terraform's own message naming the mistake and its file
    message = str(failure.value)
    for text in expected:
        assert text in message, message
    assert "main.tf:" in message
