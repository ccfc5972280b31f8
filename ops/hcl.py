"""The one reader of this repository's Terraform code (python-hcl2), for tools that need its values.

python-hcl2 keeps the quotes around labels and string values and marks blocks with
`__is_block__`; the helpers here take both away so callers see plain Python values.
"""
import hcl2


def load(path):
    """The parsed document of one .tf file."""
    with open(path) as handle:
        return hcl2.load(handle)


def unquote(value):
    """'"name"' -> 'name'; anything else unchanged."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def plain(value):
    """A parsed value with quotes and python-hcl2's bookkeeping keys removed, recursively."""
    if isinstance(value, dict):
        return {unquote(key): plain(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return unquote(value)


def blocks(document, kind):
    """{name: body} of the top-level labelled blocks `kind` (variable, output, module, locals...), names unquoted."""
    found = {}
    for block in document.get(kind, []):
        for name, body in block.items():
            found[unquote(name)] = body
    return found


def resource(document, resource_type, name, kind="resource"):
    """The body of `resource "<resource_type>" "<name>"` (with kind="data": of that data source), or KeyError."""
    for block in document.get(kind, []):
        for block_type, bodies in block.items():
            if unquote(block_type) == resource_type:
                for resource_name, body in bodies.items():
                    if unquote(resource_name) == name:
                        return body
    raise KeyError(f"{kind} {resource_type}.{name}")
