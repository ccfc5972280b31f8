"""Run one line of the README's Quickstart exactly as written (standard library only; .ci/run uses it).

    python3 tests/docs/quickstart.py 1                      # line 1 here, with the python3 on PATH
    python3 tests/docs/quickstart.py 1 --python /usr/bin/python3 --fresh-clone --externally-managed
    python3 tests/docs/quickstart.py 2                      # line 2 here

--fresh-clone runs the line as a new user would: in a `git clone` of this checkout in a temporary
folder, with an empty home directory (no pip or pipenv cache, no configuration) and a PATH whose
`python3` is the interpreter given by --python (the system folders after it, nothing else).
--externally-managed refuses to run unless that interpreter is marked externally managed
(PEP 668), as Debian's and Ubuntu's own python3 are, so the check cannot quietly test another one.
Exit status: the line's own. The time it took is printed last.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_blocks import ROOT, quickstart_lines  # noqa: E402

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a fresh machine's environment may hold besides HOME and PATH: the machine's network and
# certificate settings (not the user's), so that pip reaches its index as any program there would.
PASSED_THROUGH = ("LANG", "LC_ALL", "TERM", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CI")


def interpreter_facts(python):
    probe = (
        "import sys, sysconfig, os;"
        "print(sys.version.split()[0]);"
        "print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1] == "True"


def fresh_environment(scratch, python):
    """HOME empty, PATH = a folder holding only `python3` -> the chosen interpreter, then the system's."""
    home, bin_dir = scratch / "home", scratch / "bin"
    home.mkdir()
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    environment = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    environment.update(
        {name: value for name, value in os.environ.items() if name.startswith("PIP_") or name.lower().endswith("_proxy")}
    )
    environment.update(HOME=str(home), PATH=f"{bin_dir}:{SYSTEM_PATH}")
    environment.setdefault("LANG", "C.UTF-8")
    return environment


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("line", type=int, help="which Quickstart line to run (1 or 2)")
    parser.add_argument("--python", help="the interpreter that `python3` is for the line (default: the one on PATH)")
    parser.add_argument("--fresh-clone", action="store_true", help="in a throw-away clone with an empty home")
    parser.add_argument("--externally-managed", action="store_true", help="require a PEP 668 externally managed --python")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away clone (its path is printed)")
    options = parser.parse_args(argv)

    lines = quickstart_lines()
    if not 1 <= options.line <= len(lines):
        parser.error(f"the Quickstart has {len(lines)} lines")
    line = lines[options.line - 1]
    python = options.python or shutil.which("python3")
    if python is None:
        parser.error("no python3 on PATH: pass --python")
    version, externally_managed = interpreter_facts(python)
    described = f"{python} ({version}{', externally managed' if externally_managed else ''})"
    if options.externally_managed and not externally_managed:
        print(f"quickstart: {described} is not marked externally managed (PEP 668); nothing was checked.", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="analytics-quickstart-"))
    try:
        if options.fresh_clone:
            cwd = scratch / "clone"
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(cwd)], check=True)
            environment = fresh_environment(scratch, python)
            where = f"a fresh clone ({cwd}) with an empty home"
        else:
            cwd, environment = ROOT, dict(os.environ)
            if options.python:
                (scratch / "bin").mkdir()
                (scratch / "bin" / "python3").symlink_to(options.python)
                environment["PATH"] = f"{scratch / 'bin'}:{environment.get('PATH', SYSTEM_PATH)}"
            where = str(cwd)
        print(f"quickstart: README line {options.line} with python3 = {described}, in {where}:\n  {line}", flush=True)
        started = time.monotonic()
        code = subprocess.run(["bash", "-c", line], cwd=cwd, env=environment).returncode
        seconds = time.monotonic() - started
    finally:
        if options.keep:
            print(f"quickstart: kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    verdict = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"quickstart: README line {options.line} with {described} in {where}: {verdict}, {seconds:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
