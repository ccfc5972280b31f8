"""The Lambda functions' source in this repository: their names, folders, and loading a handler into
this process. (ops/lambdas.py works with the deployed functions: invoke, update, logs.)"""
import importlib.util
import sys
from pathlib import Path

from invoke import Exit

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
FUNCTIONS = ("analytics_collector", "analytics_consumer", "analytics_worker")


def checked_name(name):
    """`name` if it is one of FUNCTIONS, else invoke's Exit saying which names there are."""
    if name not in FUNCTIONS:
        raise Exit(f"Unknown function {name!r}: choose one of {', '.join(FUNCTIONS)}.")
    return name


def function_dir(name):
    return FUNCTIONS_DIR / checked_name(name)


def load_handler_module(name):
    """Import functions/<name>/main.py as module `<name>_main`, the way Lambda sees it (its folder on sys.path)."""
    module_name = f"{name}_main"
    if module_name in sys.modules:
        return sys.modules[module_name]
    folder = function_dir(name)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(module_name, folder / "main.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
