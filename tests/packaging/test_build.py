"""`inv build`: the Lambda zips of doc/design.md, Packaging.

The worker is built for real (pip fetches its wheels from PyPI for the Lambda platform)
twice, into two clean build folders, once per session.
"""
import io
import json
import shutil
import subprocess
import zipfile

import pytest
from invoke import Exit

import tasks
from ops import build as builder
from ops.functions import ROOT

RUNTIME = "python3.12"
DEV_ONLY = {"pytest", "_pytest", "moto", "boto3", "botocore", "s3transfer", "pipenv", "pip", "setuptools"}


@pytest.fixture(scope="session")
def worker_builds(tmp_path_factory):
    """Two clean builds of the worker for x86_64 (separate build and dist folders)."""
    artifacts = []
    for n in (1, 2):
        root = tmp_path_factory.mktemp(f"worker-build-{n}")
        artifacts.append(
            builder.build("analytics_worker", "x86_64", RUNTIME, build_dir=root / "build", dist_dir=root / "dist", out=io.StringIO())
        )
    return artifacts


@pytest.fixture
def worker_zip(worker_builds):
    return zipfile.ZipFile(worker_builds[0].path)


def top_level_names(archive):
    return {name.split("/", 1)[0] for name in archive.namelist()}


def test_worker_zip_holds_psycopg2_built_for_lambda_x86_64_and_python_3_12(worker_zip):
    # GIVEN the built worker zip
    names = worker_zip.namelist()
    # THEN psycopg2's extension is the CPython 3.12 x86_64 Linux build
    assert "psycopg2/_psycopg.cpython-312-x86_64-linux-gnu.so" in names
    # AND the wheel it came from is a manylinux x86_64 cp312 wheel
    wheel = next(n for n in names if n.startswith("psycopg2_binary-") and n.endswith(".dist-info/WHEEL"))
    tags = [line.split(":", 1)[1].strip() for line in worker_zip.read(wheel).decode().splitlines() if line.startswith("Tag:")]
    assert tags and all(tag.startswith("cp312-cp312-manylinux") and tag.endswith("x86_64") for tag in tags)
    # AND fastjsonschema (the other runtime dependency) is there too
    assert "fastjsonschema" in top_level_names(worker_zip)
    # AND every compiled extension in the zip is for CPython 3.12 on x86_64 Linux
    extensions = [n for n in names if ".cpython-" in n and n.endswith(".so")]
    assert extensions and all(n.endswith(".cpython-312-x86_64-linux-gnu.so") for n in extensions), extensions


def test_worker_zip_holds_no_development_packages(worker_zip):
    # GIVEN the built worker zip
    top = {name.split("-")[0].lower() for name in top_level_names(worker_zip)}
    # THEN none of the dev tools (or boto3, which the runtime ships) are in it
    assert not (top & DEV_ONLY), top & DEV_ONLY
    # AND no bytecode or tests were packed
    assert not [n for n in worker_zip.namelist() if n.endswith(".pyc") or "__pycache__/" in n or n.startswith("tests/")]


def test_worker_zip_is_at_most_5_mb(worker_builds):
    assert worker_builds[0].size <= 5 * 1024 * 1024
    assert worker_builds[0].size == worker_builds[0].path.stat().st_size


def test_two_clean_builds_give_identical_bytes(worker_builds):
    # GIVEN two builds from scratch (separate dependency caches)
    first, second = worker_builds
    # THEN their zips are byte for byte the same, and so are the reported hashes
    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 == builder.zip_sha256(second.path)


def test_zip_entries_are_sorted_with_fixed_time_and_mode(worker_zip):
    infos = worker_zip.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_worker_zip_holds_the_handler_at_its_root(worker_zip):
    source = ROOT / "functions" / "analytics_worker"
    if not (source / "main.py").exists():
        pytest.skip("functions/analytics_worker/main.py is not written yet")
    names = worker_zip.namelist()
    assert "main.py" in names
    assert any(n.startswith("analytics_worker/") for n in names)


def test_consumer_zip_is_at_most_50_kb(tmp_path):
    # GIVEN the consumer, whose runtime dependencies (boto3) ship with Lambda
    artifact = builder.build("analytics_consumer", "x86_64", RUNTIME, build_dir=tmp_path / "b", dist_dir=tmp_path / "d", out=io.StringIO())
    # THEN its zip holds only its own source
    assert artifact.size <= 50 * 1024
    assert artifact.path.name == "analytics_consumer-x86_64.zip"
    assert not (top_level_names(zipfile.ZipFile(artifact.path)) & DEV_ONLY)


def make_function(folder, ignore=None):
    files = {
        "main.py": "def main(event, context):\n    return event\n",
        "pkg/__init__.py": "",
        "pkg/core.py": "X = 1\n",
        "pkg/fixtures.txt": "big test data\n",
        "pkg/__pycache__/core.cpython-312.pyc": "bytecode",
        "tests/test_core.py": "def test(): pass\n",
        "notes/design.md": "# notes\n",
        "pkg/keep.txt": "keep me\n",
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if ignore is not None:
        (folder / ".lambdaignore").write_text(ignore)
    return folder


def test_lambdaignore_pattern_keeps_a_file_out(tmp_path):
    # GIVEN a function folder with a .lambdaignore in gitignore syntax
    source = make_function(tmp_path / "fn", ignore="# test data\n*.txt\n!keep.txt\nnotes/\n")
    deps = tmp_path / "deps"
    deps.mkdir()
    # WHEN it is zipped
    artifact = builder.assemble("fn", "x86_64", deps, source, dist_dir=tmp_path / "dist")
    names = zipfile.ZipFile(artifact.path).namelist()
    # THEN the ignored files stay out, the negated one stays in, and the defaults apply too
    assert names == ["main.py", "pkg/__init__.py", "pkg/core.py", "pkg/keep.txt"]


def test_default_ignores_apply_without_a_lambdaignore(tmp_path):
    source = make_function(tmp_path / "fn")
    assert sorted(builder.source_files(source)) == [
        "main.py", "notes/design.md", "pkg/__init__.py", "pkg/core.py", "pkg/fixtures.txt", "pkg/keep.txt",
    ]  # fmt: skip


def test_real_functions_have_a_lambdaignore():
    for name in ("analytics_worker", "analytics_consumer"):
        assert (ROOT / "functions" / name / ".lambdaignore").exists()


def test_unchanged_dependencies_are_not_reinstalled(worker_builds, tmp_path, monkeypatch):
    # GIVEN a build folder that already holds the worker's dependencies for this lock and target
    build_dir = worker_builds[0].path.parent.parent / "build"

    def no_pip(*args, **kwargs):
        raise AssertionError("pip was called although nothing changed")

    monkeypatch.setattr(builder.subprocess, "run", no_pip)
    out = io.StringIO()
    # WHEN the worker is built again
    artifact = builder.build("analytics_worker", "x86_64", RUNTIME, build_dir=build_dir, dist_dir=tmp_path, out=out)
    # THEN the installed folder is reused and the zip is the same
    assert "dependencies unchanged" in out.getvalue()
    assert artifact.sha256 == worker_builds[0].sha256


def write_lock(path, category, packages):
    path.write_text(json.dumps({"_meta": {}, category: packages}))
    return path


def test_requirements_are_the_locked_pins_with_markers_evaluated_for_the_target(tmp_path):
    # GIVEN a lock whose pins carry markers about Python version and machine
    lock = write_lock(
        tmp_path / "Pipfile.lock",
        "fn",
        {
            "always": {"version": "==1.0", "hashes": ["sha256:bb", "sha256:aa"]},
            "old-python-only": {"version": "==2.0", "markers": "python_version < '3.12'"},
            "arm-only": {"version": "==3.0", "markers": "platform_machine == 'aarch64'"},
        },
    )
    # THEN the Lambda target decides, not the build machine (Python 3.11 here)
    assert builder.requirements("fn", "x86_64", "python3.12", lock) == ["always==1.0 --hash=sha256:aa --hash=sha256:bb"]
    assert builder.requirements("fn", "arm64", "python3.12", lock)[1] == "arm-only==3.0"
    assert builder.requirements("fn", "x86_64", "python3.11", lock)[1] == "old-python-only==2.0"


def test_dependency_cache_key_follows_pins_and_target():
    lines = ["a==1 --hash=sha256:aa"]
    key = builder.deps_key(lines, "x86_64", "python3.12")
    assert key == builder.deps_key(list(lines), "x86_64", "python3.12")
    assert key != builder.deps_key(lines, "arm64", "python3.12")
    assert key != builder.deps_key(lines, "x86_64", "python3.13")
    assert key != builder.deps_key(["a==2 --hash=sha256:aa"], "x86_64", "python3.12")


def test_pip_is_asked_for_lambda_platform_wheels_only(tmp_path):
    command = builder.pip_install_command(tmp_path / "r.txt", tmp_path / "t", "arm64", "python3.12")
    joined = " ".join(command)
    assert "--only-binary=:all:" in command and "--no-deps" in command
    assert "--python-version 3.12" in joined and "--implementation cp" in joined
    assert "--platform manylinux2014_aarch64" in joined and "--platform manylinux_2_28_aarch64" in joined


@pytest.mark.skipif(shutil.which("pipenv") is None, reason="no pipenv executable on PATH")
def test_locked_pins_match_pipenv_requirements():
    # GIVEN what `pipenv requirements --categories analytics_worker` prints
    printed = subprocess.run(
        ["pipenv", "requirements", "--categories", "analytics_worker"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    pins = sorted(line.split(";")[0].strip() for line in printed.splitlines() if line and not line.startswith("-"))
    # THEN the build installs the same pins
    ours = sorted(line.split(" ")[0] for line in builder.requirements("analytics_worker", "x86_64", RUNTIME))
    assert ours == pins


# ---- preconditions ----------------------------------------------------------------------------


def test_unknown_function_is_refused(ctx):
    with pytest.raises(Exit, match="Unknown function 'nope': choose one of"):
        tasks.build(ctx, func=["nope"])


def test_unknown_arch_is_refused(ctx):
    with pytest.raises(Exit, match="Unknown architecture 'i386': choose one of x86_64, arm64"):
        tasks.build(ctx, func=["analytics_consumer"], arch="i386")


def test_category_missing_from_the_lock_is_refused(tmp_path):
    lock = write_lock(tmp_path / "Pipfile.lock", "other", {})
    with pytest.raises(Exit, match=r"no category 'fn'.*pipenv lock"):
        builder.requirements("fn", "x86_64", RUNTIME, lock)


def test_quick_rebuild_without_a_build_says_to_build_first(tmp_path):
    with pytest.raises(Exit, match="run `inv build --func analytics_consumer --arch x86_64` first"):
        builder.rebuild_source("analytics_consumer", "x86_64", RUNTIME, build_dir=tmp_path, dist_dir=tmp_path)


def test_build_task_prints_path_size_and_hash(ctx, tmp_path, monkeypatch, capsys):
    # GIVEN build and dist folders of this test
    monkeypatch.setattr(builder, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(builder, "DIST_DIR", tmp_path / "dist")
    # WHEN `inv build --func analytics_consumer` runs
    tasks.build(ctx, func=["analytics_consumer"])
    # THEN it prints the zip's path, size and base64 SHA-256
    zip_path = tmp_path / "dist" / "analytics_consumer-x86_64.zip"
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert str(zip_path) in line
    assert f"{zip_path.stat().st_size:,} bytes" in line
    assert f"sha256 {builder.zip_sha256(zip_path)}" in line
