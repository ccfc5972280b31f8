"""The apps' public write keys: where they are stored, how a request names one.

The stored value is a JSON object {"<write key>": "<app name>"} ({} until the stage
has apps: every request is then refused with 401); an app may hold several keys at once (rotation: add the new key, ship the tracker, remove the old).
Keys are public (they sit in every page), so they only tell apps apart and let an
operator cut one off; they are not secrets, but they stay out of logs and outputs
all the same, because a leaked list would let anyone write as every app.
"""
import base64
import binascii
import json
import re
import threading
import time

_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


class KeysError(ValueError):
    """The stored write keys are not a JSON object of valid keys to app names."""


def parse_keys(text: str, source: str) -> dict[str, str]:
    """{key: app} from the stored JSON; raise KeysError naming the source and the problem (never a key)."""
    try:
        keys = json.loads(text)
    except ValueError:
        raise KeysError(f"The write keys in {source} are not JSON: expected {{\"<key>\": \"<app name>\", ...}}.") from None
    if not isinstance(keys, dict):
        raise KeysError(f"The write keys in {source} must be a JSON object {{\"<key>\": \"<app name>\"}}.")
    for number, (key, app) in enumerate(keys.items(), start=1):
        if not _KEY.match(key):
            raise KeysError(f"Write key number {number} in {source} must be 8-128 letters, digits, '-' or '_'.")
        if not isinstance(app, str) or not app:
            raise KeysError(f"Write key number {number} in {source} must map to an app name (a non-empty string).")
    return keys


def key_loader(settings, ssm=None, secretsmanager=None):
    """A function that reads the keys' JSON text from the configured source (clients made lazily by the caller)."""
    if settings.write_keys_json:
        return lambda: parse_keys(settings.write_keys_json, "WRITE_KEYS")
    if settings.write_keys_parameter:
        name = settings.write_keys_parameter
        return lambda: parse_keys(
            ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"], f"SSM parameter {name}"
        )
    arn = settings.write_keys_secret_arn
    return lambda: parse_keys(secretsmanager().get_secret_value(SecretId=arn)["SecretString"], f"secret {arn}")


class KeyRing:
    """The keys, loaded on first use and again after `cache_seconds`, so a removed key stops working soon."""

    def __init__(self, load, cache_seconds: int, clock=time.monotonic):
        self._load, self._cache_seconds, self._clock = load, cache_seconds, clock
        self._keys, self._loaded_at = None, None
        self._lock = threading.Lock()

    def app_for(self, key: str | None) -> str | None:
        """The app a key belongs to, or None for a missing or unknown key."""
        if not key:
            return None
        with self._lock:
            now = self._clock()
            if self._keys is None or now - self._loaded_at >= self._cache_seconds:
                try:
                    self._keys, self._loaded_at = self._load(), now
                except Exception:
                    if self._keys is None:
                        raise
                    # Keep serving with the keys we have when a reload fails; try again on the next request.
        return self._keys.get(key)


def key_of_request(headers: dict[str, str], query: dict[str, str]) -> str | None:
    """The write key: `Authorization: Basic base64(<key>:)` (the key as user name), else `?key=` (sendBeacon)."""
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        return user or password or None
    return query.get("key") or None
