"""Checks of the Terraform code that Terraform itself does not make.

`terraform validate` and `plan` (tests/infrastructure/test_terraform_validate.py and
test_plans.py, through terraform_runner.py) now check every argument, nested block, type,
reference, module call, sensitive output and the stage roots' reads of the shared root's
outputs, with the real provider schemas. What is left here is the team's own conventions,
which Terraform accepts either way:

- every variable has a `type` and a `description`, every output a `description`
  (Terraform takes untyped, undescribed ones);
- the layout: each module's standard files and README, the stage roots being the same
  text but for their stage name, each root's own S3 state key with locking and the bucket
  left to `init`;
- the names other parts of the project rely on (read by the local stack from the code).

The code is parsed with python-hcl2 (no Terraform needed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ops import hcl

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infrastructure"


@dataclass(frozen=True)
class Problem:
    file: str
    block: str
    message: str

    def __str__(self):
        return f"{self.file}: {self.block}: {self.message}"


# ----------------------------------------------------------------- parsing ---


unquote = hcl.unquote


def body_items(body):
    """(name, value) of a block body, without python-hcl2's bookkeeping keys."""
    return [(key, value) for key, value in body.items() if not key.startswith("__")]


@dataclass
class Block:
    kind: str  # resource, data, module, variable, output, provider, locals, terraform
    labels: tuple
    body: dict
    file: Path

    @property
    def title(self):
        return " ".join([self.kind, *(f'"{label}"' for label in self.labels)])


@dataclass
class Config:
    """Every top-level block of one folder of .tf files (one Terraform module)."""

    directory: Path
    blocks: list = field(default_factory=list)

    def of(self, kind):
        return [block for block in self.blocks if block.kind == kind]

    def names(self, kind):
        return {block.labels[0] for block in self.of(kind)}

    def locals(self):
        values = {}
        for block in self.of("locals"):
            values.update(body_items(block.body))
        return values

    def required_providers(self):
        found = {}
        for block in self.of("terraform"):
            for entry in block.body.get("required_providers", []):
                for name, spec in body_items(entry):
                    found[name] = {key: unquote(value) for key, value in spec.items()} if isinstance(spec, dict) else spec
        return found


LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1, "locals": 0, "terraform": 0}


def _unwrap(kind, entry, depth, labels=()):
    """python-hcl2 nests labelled blocks as {'"label"': {...}}: peel `depth` labels."""
    if depth == 0:
        yield tuple(labels), entry
        return
    for label, inner in body_items(entry):
        yield from _unwrap(kind, inner, depth - 1, (*labels, unquote(label)))


def load_config(directory):
    """Parse every *.tf file of `directory` (not its sub-folders) into a Config."""
    directory = Path(directory)
    config = Config(directory)
    for path in sorted(directory.glob("*.tf")):
        try:
            document = hcl.load(path)
        except Exception as error:  # python-hcl2 raises lark errors of several kinds
            raise ValueError(f"{display(path)}: cannot parse: {error}") from error
        for kind, entries in document.items():
            depth = LABELS.get(kind)
            if depth is None:
                continue
            for entry in entries:
                for labels, body in _unwrap(kind, entry, depth):
                    config.blocks.append(Block(kind, labels, body, path))
    return config


def display(path):
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def terraform_dirs(root=INFRA):
    """Every folder under `root` that holds .tf files (roots and modules)."""
    return sorted({path.parent for path in Path(root).rglob("*.tf") if ".terraform" not in path.parts})


# --------------------------------------------------- checks: module style ---


def check_variables_and_outputs(config):
    """Every variable has a type and a description; every output a description."""
    problems = []
    for block in config.of("variable"):
        for key in ("type", "description"):
            if key not in block.body:
                problems.append(Problem(display(block.file), block.title, f'has no "{key}"'))
    for block in config.of("output"):
        if "description" not in block.body:
            problems.append(Problem(display(block.file), block.title, 'has no "description"'))
    return problems


# ------------------------------------------------ checks: remote state ---


def backend_key(config):
    for block in config.of("terraform"):
        for backend in block.body.get("backend", []):
            for _, settings in body_items(backend):
                return unquote(settings.get("key"))
    return None
