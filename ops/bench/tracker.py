"""The browser tracker's size: raw, minified and gzipped (`inv bench`; tests/browser checks the budget).

Minified with terser (`-c -m`) when `npm ci --prefix collector/js` has installed it (pinned in
collector/js/package.json; the tracker itself has no build step). Without it, `minify` below drops
comments and needless whitespace only (no renaming): an upper bound, reported as such.
"""
import gzip
import re
import subprocess

from ops.functions import ROOT

TRACKER = ROOT / "collector" / "js" / "analytics.js"
TERSER = ROOT / "collector" / "js" / "node_modules" / ".bin" / "terser"
BUDGET_MINIFIED_BYTES = 3 * 1024  # issue 12: under 3 KB minified
_WORD = re.compile(r"[A-Za-z0-9_$]")
_REGEX_MAY_FOLLOW = set("(,=:[!&|?{};+-*%<>~^") | {""}


def minify(source):
    """Comments and needless whitespace removed; strings, template literals and regex literals kept as they are."""
    out, i, n = [], 0, len(source)
    pending_space = False

    def last():
        for piece in reversed(out):
            if piece.strip():
                return piece.rstrip()[-1]
        return ""

    while i < n:
        ch = source[i]
        if source.startswith("/*", i):
            i = source.index("*/", i + 2) + 2
            pending_space = True
            continue
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            pending_space = True
            continue
        if ch.isspace():
            pending_space = True
            i += 1
            continue
        if ch in "'\"`" or (ch == "/" and last() in _REGEX_MAY_FOLLOW):
            j = i + 1
            in_class = False
            while j < n and (source[j] != ch or in_class):
                if source[j] == "\\":
                    j += 1
                elif ch == "/" and source[j] == "[":
                    in_class = True
                elif ch == "/" and source[j] == "]":
                    in_class = False
                j += 1
            token = source[i:j + 1]
            i = j + 1
        else:
            token = ch
            i += 1
        if pending_space and out and _WORD.match(last()) and _WORD.match(token[0]):
            out.append(" ")
        pending_space = False
        out.append(token)
    return "".join(out)


def terser(path=TRACKER):
    """terser's output for the file, or None when terser is not installed."""
    if not TERSER.exists():
        return None
    return subprocess.run([str(TERSER), str(path), "-c", "-m"], check=True, capture_output=True, text=True).stdout


def measure():
    source = TRACKER.read_text()
    minified = terser()
    method = "terser -c -m"
    if minified is None:
        minified, method = minify(source), "whitespace and comments only (npm ci --prefix collector/js for terser)"
    return {
        "minifier": method,
        "raw_bytes": len(source.encode()),
        "minified_bytes": len(minified.encode()),
        "minified_gzip_bytes": len(gzip.compress(minified.encode(), 9, mtime=0)),
        "budget_minified_bytes": BUDGET_MINIFIED_BYTES,
    }
