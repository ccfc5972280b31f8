"""`inv build` / `inv update`: a function's deployable zip (doc/design.md, Packaging).

The zip holds the function's runtime dependencies, installed for the Lambda
platform, plus its own source filtered by `.lambdaignore`. Its bytes depend only
on those inputs (sorted entries, fixed timestamps and modes), so Terraform's
`source_code_hash` changes only when the code or the dependencies do.

Dependencies come from the function's category in Pipfile.lock (the pins that
`pipenv requirements --categories <function>` prints, read directly so that the
build needs no pipenv inside the virtual environment). They are installed once
per (pins, target) into `build/deps/<key>/`; a build with unchanged inputs reuses
that folder without calling pip.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pathspec
from invoke import Exit
from packaging.markers import Marker

from ops.functions import ROOT, checked_name, function_dir

BUILD_DIR = ROOT / "build"
DIST_DIR = ROOT / "dist"
LOCK_FILE = ROOT / "Pipfile.lock"

ARCHES = ("x86_64", "arm64")
# Lambda's arm64 is Linux aarch64. Several tags, so that wheels built for newer
# manylinux policies are found too (Lambda python3.12 runs on Amazon Linux 2023, glibc 2.34).
PLATFORM_TAGS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
}
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}

# Files a function ships that have their home elsewhere: {function: {name in the zip: path in the repository}}.
# The collector checks `?validate=strict` with the worker's own event schema.
EXTRA_FILES = {
    "analytics_collector": {
        "analytics_collector/event.schema.json": ROOT / "functions/analytics_worker/analytics_worker/event.schema.json",
    },
}

# Always left out of the zip, whatever `.lambdaignore` says.
DEFAULT_IGNORE = ("__pycache__/", "*.py[cod]", "tests/", ".pytest_cache/", ".lambdaignore")
# Left out of the installed dependencies (pip's console scripts are of no use on Lambda).
DEPS_IGNORE = ("__pycache__/", "*.py[cod]", "bin/")

# Fixed metadata for every zip entry: the zip format's earliest date, rw-r--r-- (Lambda
# reads the files as another user; shared objects need no execute bit to be loaded).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
# zlib's default: a level 9 zip of the worker is 0.5 % smaller and takes three times as long to write.
COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class Artifact:
    function: str
    arch: str
    path: Path
    size: int
    sha256: str  # base64 SHA-256 of the zip, what Lambda reports as CodeSha256

    def describe(self):
        try:
            shown = self.path.relative_to(ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}  {self.size:,} bytes  sha256 {self.sha256}"


def check_arch(arch):
    if arch not in ARCHES:
        raise Exit(f"Unknown architecture {arch!r}: choose one of {', '.join(ARCHES)}.")
    return arch





def python_version(runtime):
    """`python3.12` -> `3.12`."""
    if not runtime.startswith("python"):
        raise Exit(f"Unsupported runtime {runtime!r}: set build.runtime in invoke.yaml to e.g. python3.12.")
    return runtime[len("python"):]


def zip_sha256(path):
    return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()


# ---- dependencies -------------------------------------------------------------------------


def requirements(function, arch, runtime, lock_file=None):
    """The function's pinned runtime requirements for the Lambda target, one `name==version --hash ...` a line.

    Markers are evaluated for the target (Lambda's Python and machine), not for the build machine.
    """
    lock_file = Path(lock_file or LOCK_FILE)
    if not lock_file.exists():
        raise Exit(f"{lock_file} is missing: run `pipenv lock`.")
    lock = json.loads(lock_file.read_text())
    if function not in lock:
        raise Exit(
            f"Pipfile.lock has no category {function!r}: add a [{function}] section to the Pipfile "
            "and run `pipenv lock`."
        )
    version = python_version(runtime)
    environment = {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": version,
        "python_full_version": f"{version}.0",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": MACHINE[arch],
    }
    lines = []
    for name, pin in sorted(lock[function].items()):
        if "version" not in pin:
            raise Exit(f"{name} in category {function} is not pinned to a version (VCS/path requirements are not supported).")
        if pin.get("markers") and not Marker(pin["markers"]).evaluate(environment):
            continue
        hashes = "".join(f" --hash={h}" for h in sorted(pin.get("hashes", ())))
        lines.append(f"{name}{pin['version']}{hashes}")
    return lines


def deps_key(lines, arch, runtime):
    """Cache key of an installed dependency folder: the pins and the target."""
    material = json.dumps(
        {"requirements": lines, "platforms": PLATFORM_TAGS[arch], "runtime": runtime, "implementation": "cp"},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def deps_dir(function, arch, runtime, build_dir=None, lock_file=None):
    lines = requirements(function, arch, runtime, lock_file)
    return Path(build_dir or BUILD_DIR) / "deps" / f"{function}-{arch}-{deps_key(lines, arch, runtime)}", lines


def pip_install_command(requirements_file, target, arch, runtime):
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-deps", "--require-hashes",
        "--implementation", "cp",
        "--python-version", python_version(runtime),
        "--only-binary=:all:",
        "--target", str(target),
        "-r", str(requirements_file),
    ]  # fmt: skip
    for tag in PLATFORM_TAGS[arch]:
        command += ["--platform", tag]
    return command


def install_dependencies(function, arch, runtime, build_dir=None, lock_file=None, out=None):
    """Install the function's runtime dependencies for Lambda, or reuse the folder of an earlier identical install."""
    out = out or sys.stdout
    target, lines = deps_dir(function, arch, runtime, build_dir, lock_file)
    if (target / ".complete").exists():
        print(f"{function}: dependencies unchanged, reusing {target.name}", file=out)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        if lines:
            print(f"{function}: installing {len(lines)} dependencies for {runtime} {arch}", file=out)
            requirements_file = staging / "requirements.txt"
            requirements_file.write_text("\n".join(lines) + "\n")
            packages = staging / "packages"
            result = subprocess.run(
                pip_install_command(requirements_file, packages, arch, runtime), capture_output=True, text=True
            )
            if result.returncode != 0:
                raise Exit(
                    f"pip could not install the dependencies of {function} for {runtime} {arch}:\n"
                    f"{result.stderr.strip()}\nCheck the network (PyPI) and that each pin has a wheel for this platform."
                )
        else:
            (staging / "packages").mkdir()
        (staging / "packages" / ".complete").write_text("\n".join(lines) + "\n")
        if target.exists():
            shutil.rmtree(target)
        (staging / "packages").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# ---- source and zip -----------------------------------------------------------------------


def ignore_spec(source_dir):
    """DEFAULT_IGNORE plus the patterns of `<source_dir>/.lambdaignore` (gitignore syntax)."""
    patterns = list(DEFAULT_IGNORE)
    ignore_file = Path(source_dir) / ".lambdaignore"
    if ignore_file.exists():
        patterns += ignore_file.read_text().splitlines()
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def tree_files(folder, spec):
    """{archive name: file path} for the files under `folder` that `spec` does not ignore."""
    folder = Path(folder)
    files = {}
    for directory, subdirs, names in os.walk(folder):
        relative_dir = Path(directory).relative_to(folder)
        # Prune ignored folders (a gitignore `dir/` pattern matches the folder path with a slash).
        subdirs[:] = [d for d in subdirs if not spec.match_file((relative_dir / d).as_posix() + "/")]
        for name in names:
            relative = (relative_dir / name).as_posix()
            if not spec.match_file(relative):
                files[relative] = Path(directory) / name
    return files


def source_files(source_dir):
    return tree_files(source_dir, ignore_spec(source_dir))


def write_zip(files, zip_path):
    """Write {archive name: file path} as a deterministic zip; returns the Artifact-style (size, sha256)."""
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_name(zip_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode above is read
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, Path(files[name]).read_bytes(), compresslevel=COMPRESS_LEVEL)
    partial.replace(zip_path)
    return zip_path.stat().st_size, zip_sha256(zip_path)


def assemble(function, arch, deps, source_dir, dist_dir=None):
    """Zip the installed dependencies and the function's current source into dist/<function>-<arch>.zip."""
    files = tree_files(deps, pathspec.GitIgnoreSpec.from_lines([*DEPS_IGNORE, "/.complete"]))
    own = source_files(source_dir)
    clash = sorted(set(files) & set(own))
    if clash:
        raise Exit(f"{function}: source files shadow installed dependencies: {', '.join(clash[:5])}. Rename them.")
    files.update(own)
    files.update(EXTRA_FILES.get(function, {}))
    zip_path = Path(dist_dir or DIST_DIR) / f"{function}-{arch}.zip"
    size, sha256 = write_zip(files, zip_path)
    return Artifact(function, arch, zip_path, size, sha256)


def build(function, arch, runtime, build_dir=None, dist_dir=None, lock_file=None, out=None):
    """The full build: dependencies (installed or reused) plus source, zipped."""
    checked_name(function)
    check_arch(arch)
    deps = install_dependencies(function, arch, runtime, build_dir, lock_file, out=out)
    return assemble(function, arch, deps, function_dir(function), dist_dir)


def rebuild_source(function, arch, runtime, build_dir=None, dist_dir=None, lock_file=None):
    """`inv update`'s quick build: the function's current source over its already installed dependencies."""
    checked_name(function)
    check_arch(arch)
    deps, _ = deps_dir(function, arch, runtime, build_dir, lock_file)
    if not (deps / ".complete").exists():
        raise Exit(
            f"No build of {function} for {arch} with the current Pipfile.lock: "
            f"run `inv build --func {function} --arch {arch}` first."
        )
    return assemble(function, arch, deps, function_dir(function), dist_dir)
