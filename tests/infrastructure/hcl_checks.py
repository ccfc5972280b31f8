"""Offline checks of the Terraform code, close to what `terraform validate` does.

No Terraform binary or provider plugin is needed: the code is parsed with
python-hcl2, and resources, data sources and provider blocks are checked
against provider schemas in the format of `terraform providers schema -json`
(see `find_schemas`). Every check returns a list of `Problem`s whose text
names the file, the block and the argument, e.g.

    infrastructure/modules/lambda/main.tf: resource "aws_lambda_function" "this":
    unknown argument "memory_sise" (did you mean "memory_size"?)

The tests in this folder call these functions; they can be reused on any
folder of .tf files (a copy with a planted mistake, say).
"""
from __future__ import annotations

import difflib
import gzip
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infrastructure"
SCHEMAS_ENV = "TERRAFORM_SCHEMAS_DIR"
DEFAULT_SCHEMAS_DIR = REPO_ROOT.parent / "shared" / "terraform-schemas"

# Arguments every resource / data / module block may carry besides its schema's.
RESOURCE_META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
MODULE_META = {"source", "version", "count", "for_each", "depends_on", "providers"}
# Names that start a reference and are not declared anywhere.
BUILTIN_ROOTS = {"path", "terraform", "count", "each", "self"}
BUILTIN_PROVIDERS = {"terraform": "terraform.io/builtin/terraform"}
# Known mistakes of the offline schema files, each with where it is documented.
# postgresql.json.gz says the provider's `clientcert` block needs min_items 1,
# but the provider declares it Optional (MaxItems 1), and its documentation's
# usage example (registry: cyrilgdn/postgresql, index page) configures no
# clientcert at all.
SCHEMA_ERRATA_OPTIONAL_BLOCKS = {("provider", "postgresql", "clientcert")}


@dataclass(frozen=True)
class Problem:
    file: str
    block: str
    message: str

    def __str__(self):
        return f"{self.file}: {self.block}: {self.message}"


# ----------------------------------------------------------------- parsing ---


def unquote(text):
    """'"name"' -> 'name' (python-hcl2 keeps the quotes of labels and strings)."""
    if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def is_block(value):
    return isinstance(value, list) and all(isinstance(item, dict) and item.get("__is_block__") for item in value) and bool(value)


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

    @property
    def address(self):
        if self.kind == "resource":
            return ".".join(self.labels)
        if self.kind == "data":
            return "data." + ".".join(self.labels)
        return f"{self.kind}.{'.'.join(self.labels)}"


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

    def find(self, kind, *labels):
        for block in self.of(kind):
            if block.labels == tuple(labels):
                return block
        return None

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
        with open(path) as handle:
            try:
                document = hcl2.load(handle)
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


# ----------------------------------------------------------------- schemas ---


class SchemasNotFound(Exception):
    pass


def find_schemas():
    """The folder with provider schema files, or raise SchemasNotFound saying what to do."""
    configured = os.environ.get(SCHEMAS_ENV)
    directory = Path(configured) if configured else DEFAULT_SCHEMAS_DIR
    files = sorted(directory.glob("*.json")) + sorted(directory.glob("*.json.gz")) if directory.is_dir() else []
    if not files:
        source = f"{SCHEMAS_ENV}={configured}" if configured else f"the default {DEFAULT_SCHEMAS_DIR}"
        raise SchemasNotFound(
            f"No provider schemas found ({source} has no *.json or *.json.gz). These checks need them: "
            f"run `terraform init && terraform providers schema -json > schemas/providers.json` in a "
            f"stage root and set {SCHEMAS_ENV} to that folder."
        )
    return directory


@dataclass
class Schemas:
    """Provider schemas merged from every file of a folder, keyed by provider source address."""

    providers: dict

    @classmethod
    def load(cls, directory):
        providers = {}
        for path in sorted(Path(directory).glob("*.json")) + sorted(Path(directory).glob("*.json.gz")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                document = json.load(handle)
            for source, schema in document.get("provider_schemas", {}).items():
                merged = providers.setdefault(source, {})
                for key, value in schema.items():
                    if isinstance(value, dict):
                        merged.setdefault(key, {}).update(value)
                    else:
                        merged[key] = value
        return cls(providers)

    def provider(self, source):
        """Schemas of a provider by source ('hashicorp/aws' or a full address)."""
        for address, schema in self.providers.items():
            if address == source or address.endswith("/" + source):
                return schema
        return None


def provider_source(config, local_name):
    """Source address of a provider local name as the module declares it (None if undeclared)."""
    if local_name in BUILTIN_PROVIDERS:
        return BUILTIN_PROVIDERS[local_name]
    spec = config.required_providers().get(local_name)
    if isinstance(spec, dict) and spec.get("source"):
        return spec["source"].lower()
    return None


def block_schema(config, schemas, kind, type_name):
    """(schema block or None, problem text or None) for a resource/data type."""
    local_name = type_name.split("_", 1)[0]
    source = provider_source(config, local_name)
    if source is None:
        return None, f'provider "{local_name}" is not declared in required_providers of this module'
    provider = schemas.provider(source)
    if provider is None:
        return None, None  # no schema for this provider on hand: nothing to check against
    section = "resource_schemas" if kind == "resource" else "data_source_schemas"
    entry = provider.get(section, {}).get(type_name)
    if entry is None:
        word = "resource type" if kind == "resource" else "data source"
        close = difflib.get_close_matches(type_name, provider.get(section, {}), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        return None, f'unknown {word} "{type_name}" in provider {source}{hint}'
    return entry["block"], None


# ------------------------------------------------------ checks: the schema ---


def _settable(attribute):
    return attribute.get("required") or attribute.get("optional")


def check_body(body, schema, file, where, meta=frozenset(), optional_blocks=frozenset()):
    """Problems of one block body against its schema block (recursing into nested blocks).

    `optional_blocks` names nested blocks whose min_items the schema file gets wrong.
    """
    problems = []
    attributes = schema.get("attributes", {})
    block_types = schema.get("block_types", {})
    given_blocks = {}
    for name, value in body_items(body):
        if name in meta:
            continue
        if name == "dynamic":
            for entry in value:
                for label, dynamic in body_items(entry):
                    label = unquote(label)
                    if label not in block_types:
                        problems.append(Problem(file, where, f'unknown nested block "{label}" (dynamic)'))
                        continue
                    given_blocks.setdefault(label, []).append(None)  # count unknown
                    for content in dynamic.get("content", []):
                        problems += check_body(content, block_types[label]["block"], file, f"{where} > dynamic {label}")
            continue
        if name in attributes:
            if is_block(value):
                problems.append(Problem(file, where, f'"{name}" is an argument: write {name} = ..., not a {name} {{ }} block'))
            elif not _settable(attributes[name]):
                problems.append(Problem(file, where, f'"{name}" is computed by the provider and cannot be set'))
            continue
        if name in block_types:
            if not is_block(value):
                problems.append(Problem(file, where, f'"{name}" is a nested block: write {name} {{ ... }}, not {name} = ...'))
                continue
            given_blocks[name] = value
            for item in value:
                problems += check_body(item, block_types[name]["block"], file, f"{where} > {name}")
            continue
        known = [key for key, attr in attributes.items() if _settable(attr)] + list(block_types)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        kind = "nested block" if is_block(value) else "argument"
        problems.append(Problem(file, where, f'unknown {kind} "{name}"{hint}'))
    for name, attribute in sorted(attributes.items()):
        if attribute.get("required") and name not in body:
            problems.append(Problem(file, where, f'missing required argument "{name}"'))
    for name, nested in sorted(block_types.items()):
        items = given_blocks.get(name, [])
        if None in items:
            continue  # a dynamic block: its count is only known at plan time
        low = 0 if name in optional_blocks else nested.get("min_items") or 0
        high = nested.get("max_items") or (1 if nested.get("nesting_mode") == "single" else None)
        if len(items) < low:
            problems.append(Problem(file, where, f'missing required nested block "{name}" (at least {low})'))
        if high is not None and len(items) > high:
            problems.append(Problem(file, where, f'too many "{name}" blocks: {len(items)}, at most {high}'))
    return problems


def check_schema(config, schemas):
    """Every resource, data source and (schema-known) provider block against the provider schemas."""
    problems = []
    for block in config.of("resource") + config.of("data"):
        file = display(block.file)
        schema, error = block_schema(config, schemas, block.kind, block.labels[0])
        if error:
            problems.append(Problem(file, block.title, error))
        if schema is not None:
            problems += check_body(block.body, schema, file, block.title, meta=RESOURCE_META)
    for block in config.of("provider"):
        name = block.labels[0]
        source = provider_source(config, name)
        provider = schemas.provider(source) if source else None
        if provider and provider.get("provider"):
            errata = {nested for kind, provider_name, nested in SCHEMA_ERRATA_OPTIONAL_BLOCKS if (kind, provider_name) == ("provider", name)}
            problems += check_body(
                block.body, provider["provider"]["block"], display(block.file), block.title, meta={"alias"}, optional_blocks=errata
            )
    return problems


# ------------------------------------------------- checks: module interfaces ---


def local_module_dir(config, block):
    source = unquote(block.body.get("source", ""))
    if isinstance(source, str) and source.startswith(("./", "../")):
        return (config.directory / source).resolve()
    return None


def check_module_calls(config):
    """Every module call's arguments against the called module's variables."""
    problems = []
    for block in config.of("module"):
        file, where = display(block.file), block.title
        directory = local_module_dir(config, block)
        if directory is None:
            continue  # a registry module: its interface is not on disk
        if not any(directory.glob("*.tf")):
            problems.append(Problem(file, where, f'source "{unquote(block.body["source"])}" holds no .tf files'))
            continue
        module = load_config(directory)
        variables = {variable.labels[0]: variable for variable in module.of("variable")}
        given = {name for name, _ in body_items(block.body)} - MODULE_META
        for name in sorted(given - set(variables)):
            close = difflib.get_close_matches(name, variables, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            problems.append(Problem(file, where, f'unknown argument "{name}": module {display(directory)} has no such variable{hint}'))
        for name, variable in sorted(variables.items()):
            if "default" not in variable.body and name not in given:
                problems.append(Problem(file, where, f'missing required argument "{name}" (variable without default in {display(directory)})'))
    return problems


# ------------------------------------------------------- checks: references ---


def expression_code(value):
    """The code parts of a python-hcl2 value, with string literals blanked out."""
    pieces = []

    def walk(item):
        if isinstance(item, dict):
            for key, inner in item.items():
                if not str(key).startswith("__"):
                    walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)
        elif isinstance(item, str):
            if item.startswith("${") and item.endswith("}"):
                pieces.append(_strip_literals(item[2:-1]))
            else:
                pieces.append(_template_code(unquote(item)))

    walk(value)
    return "\n".join(pieces)


def _template_code(text):
    """Code inside the ${...} and %{...} of a template (string literal or heredoc)."""
    out, index = [], 0
    while index < len(text):
        if text.startswith(("${", "%{"), index) and not text.startswith(("$${", "%%{"), index - 1 if index else 0):
            end = _matching_brace(text, index + 1)
            out.append(_strip_literals(text[index + 2 : end]))
            index = end + 1
        else:
            index += 1
    return " ".join(out)


def _matching_brace(text, open_index):
    depth, index, in_string = 0, open_index, False
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
            elif text.startswith("${", index):
                index = _matching_brace(text, index + 1)
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(text) - 1


def _strip_literals(code):
    """Replace string literals in an expression by their interpolations only."""
    out, index = [], 0
    while index < len(code):
        char = code[index]
        if char == '"':
            end, inner = index + 1, []
            while end < len(code) and code[end] != '"':
                if code[end] == "\\":
                    end += 2
                    continue
                if code.startswith("${", end):
                    close = _matching_brace(code, end + 1)
                    inner.append(_strip_literals(code[end + 2 : close]))
                    end = close + 1
                    continue
                end += 1
            out.append(' "" ' + " ".join(inner) + " ")
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


TRAVERSAL = re.compile(r"(?<![\w.\]])([A-Za-z_][\w-]*)((?:\s*(?:\.\s*[A-Za-z_][\w-]*|\[[^\[\]]*\]))*)")


def references(value):
    """(root, [names...]) of every traversal in a value: var.x -> ('var', ['x'])."""
    found = []
    for match in TRAVERSAL.finditer(expression_code(value)):
        root, rest = match.group(1), match.group(2) or ""
        parts = [part for part in re.findall(r"\.\s*([A-Za-z_][\w-]*)", rest)]
        if rest.strip():
            found.append((root, parts))
    return found


def _local_symbols(body):
    """Iterator names of dynamic blocks and for-expressions (not references to declarations)."""
    names = set()
    code = expression_code(body)
    for match in re.finditer(r"\bfor\s+([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\b", code):
        names.update(name for name in match.groups() if name)
    for entry in body.get("dynamic", []) if isinstance(body, dict) else []:
        for label, dynamic in body_items(entry):
            names.add(unquote(dynamic.get("iterator", label)) if isinstance(dynamic, dict) else unquote(label))
    return names


def _resource_types(config, schemas):
    known = {block.labels[0] for block in config.of("resource")}
    if schemas:
        for provider in schemas.providers.values():
            known.update(provider.get("resource_schemas", {}))
    return known


def _attribute_known(schema, name):
    return name in schema.get("attributes", {}) or name in schema.get("block_types", {})


def check_references(config, schemas=None):
    """Every var., local., module.X.Y, data.T.N(.attr) and T.N(.attr) reference resolves.

    With schemas, the attribute after a resource or data source must exist in
    its schema too; module outputs are checked against the called module.
    """
    problems = []
    variables = config.names("variable")
    local_names = set(config.locals())
    modules = {block.labels[0]: block for block in config.of("module")}
    resources = {block.labels: block for block in config.of("resource")}
    datas = {block.labels: block for block in config.of("data")}
    types = _resource_types(config, schemas)
    module_outputs = {}

    def outputs_of(name):
        if name not in module_outputs:
            directory = local_module_dir(config, modules[name])
            module_outputs[name] = load_config(directory).names("output") if directory else None
        return module_outputs[name]

    def attribute_problem(kind, type_name, attribute):
        if not schemas or attribute is None or attribute in ("count", "each"):
            return None
        schema, _ = block_schema(config, schemas, kind, type_name)
        if schema is not None and not _attribute_known(schema, attribute):
            return f'has no attribute "{attribute}"'
        return None

    for block in config.blocks:
        if block.kind == "terraform":
            continue  # settings only: no references allowed there
        # A variable may refer to variables in its validation blocks only.
        scope_body = block.body.get("validation", []) if block.kind == "variable" else block.body
        file, where = display(block.file), block.title
        symbols = _local_symbols(block.body) | BUILTIN_ROOTS
        for root, parts in references(scope_body):
            text = ".".join([root, *parts])
            if root in symbols:
                continue
            if root == "var":
                if parts and parts[0] not in variables:
                    problems.append(Problem(file, where, f'reference "{text}": no variable "{parts[0]}" is declared'))
            elif root == "local":
                if parts and parts[0] not in local_names:
                    problems.append(Problem(file, where, f'reference "{text}": no local value "{parts[0]}" is declared'))
            elif root == "module":
                if not parts or parts[0] not in modules:
                    problems.append(Problem(file, where, f'reference "{text}": no module "{parts[0] if parts else ""}" is called'))
                elif len(parts) > 1:
                    outputs = outputs_of(parts[0])
                    if outputs is not None and parts[1] not in outputs:
                        problems.append(Problem(file, where, f'reference "{text}": module "{parts[0]}" has no output "{parts[1]}"'))
            elif root == "data":
                if len(parts) < 2 or tuple(parts[:2]) not in datas:
                    problems.append(Problem(file, where, f'reference "{text}": no data source "{".".join(parts[:2])}" is declared'))
                else:
                    error = attribute_problem("data", parts[0], parts[2] if len(parts) > 2 else None)
                    if error:
                        problems.append(Problem(file, where, f'reference "{text}": data source {error}'))
            elif root in types or (re.fullmatch(r"[a-z0-9]+_[a-z0-9_]+", root) and root.split("_")[0] in config.required_providers()):
                if not parts or (root, parts[0]) not in resources:
                    problems.append(Problem(file, where, f'reference "{text}": no resource "{root}.{parts[0] if parts else ""}" is declared'))
                else:
                    error = attribute_problem("resource", root, parts[1] if len(parts) > 1 else None)
                    if error:
                        problems.append(Problem(file, where, f'reference "{text}": resource {error}'))
    return problems


# ------------------------------------------------ checks: sensitive outputs ---


def check_sensitive_outputs(config, schemas=None):
    """Outputs that carry a sensitive variable, module output or attribute must say sensitive = true."""
    problems = []
    sensitive_vars = {b.labels[0] for b in config.of("variable") if b.body.get("sensitive") is True}
    modules = {block.labels[0]: block for block in config.of("module")}
    for block in config.of("output"):
        if block.body.get("sensitive") is True:
            continue
        for root, parts in references(block.body.get("value")):
            reason = None
            if root == "var" and parts and parts[0] in sensitive_vars:
                reason = f"variable {parts[0]} is sensitive"
            elif root == "module" and len(parts) > 1 and parts[0] in modules:
                directory = local_module_dir(config, modules[parts[0]])
                if directory:
                    output = load_config(directory).find("output", parts[1])
                    if output is not None and output.body.get("sensitive") is True:
                        reason = f"output {parts[1]} of module {parts[0]} is sensitive"
            elif schemas and len(parts) > 1 and root not in ("var", "local", "module", "data"):
                schema, _ = block_schema(config, schemas, "resource", root) if "_" in root else (None, None)
                attribute = (schema or {}).get("attributes", {}).get(parts[1], {})
                if attribute.get("sensitive"):
                    reason = f"attribute {root}.{parts[0]}.{parts[1]} is sensitive"
            if reason:
                problems.append(Problem(display(block.file), block.title, f"must set sensitive = true: {reason}"))
    return problems


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


def check_remote_state_outputs(config, roots):
    """Outputs read from another root's state (terraform_remote_state) exist in that root.

    `roots` maps a backend key to the Config of the root stored under it.
    """
    problems = []
    aliases = {}
    states = {}
    for block in config.of("data"):
        if block.labels[0] != "terraform_remote_state":
            continue
        key = unquote((block.body.get("config") or {}).get("key"))
        states[block.labels[1]] = key
        if key not in roots:
            problems.append(Problem(display(block.file), block.title, f'reads state key "{key}", which no root uses as its backend key'))
    for name, value in config.locals().items():
        match = re.fullmatch(r"\$\{data\.terraform_remote_state\.(\w+)\.outputs\}", str(value))
        if match:
            aliases[name] = match.group(1)
    for block in config.blocks:
        for root, parts in references(block.body):
            state = None
            if root == "data" and len(parts) >= 4 and parts[0] == "terraform_remote_state" and parts[2] == "outputs":
                state, output = parts[1], parts[3]
            elif root == "local" and len(parts) >= 2 and parts[0] in aliases:
                state, output = aliases[parts[0]], parts[1]
            if state is None or states.get(state) not in roots:
                continue
            if output not in roots[states[state]].names("output"):
                problems.append(
                    Problem(display(block.file), block.title, f'reads output "{output}" of state "{states[state]}", which that root does not define')
                )
    return problems
