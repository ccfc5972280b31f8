"""The collector's settings, read from the environment and checked once."""
import re
from dataclasses import dataclass
from typing import Mapping

# SNS: at most 10 entries per PublishBatch call, and 256 KiB for a message and for a whole call.
SNS_BATCH_ENTRIES = 10
SNS_PAYLOAD_LIMIT = 262_144

_TOPIC_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
_PARAMETER = re.compile(r"^(arn:aws[a-zA-Z-]*:ssm:[a-z0-9-]+:\d{12}:parameter)?/[A-Za-z0-9_.\-/]{1,1000}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


class SettingsError(ValueError):
    """An environment variable is missing or holds a value that is not allowed."""


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    # Where the write keys live: exactly one of the three (see keys.py).
    write_keys_parameter: str | None = None
    write_keys_secret_arn: str | None = None
    write_keys_json: str | None = None
    cors_origins: tuple[str, ...] = ()  # ("*",) allows any origin
    max_events: int = 500
    max_body_bytes: int = 262_144
    publish_attempts: int = 3
    keys_cache_seconds: int = 300
    clock_skew_tolerance_seconds: int = 60
    add_user_agent: bool = False
    add_ip_address: bool = False

    def allows_origin(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.cors_origins or origin in self.cors_origins)


# name -> (field, default, lowest, highest)
_INTEGERS = {
    "MAX_EVENTS": ("max_events", 500, 1, 500),
    "MAX_BODY_BYTES": ("max_body_bytes", 262_144, 1_024, 262_144),
    "PUBLISH_ATTEMPTS": ("publish_attempts", 3, 1, 10),
    "KEYS_CACHE_SECONDS": ("keys_cache_seconds", 300, 0, 86_400),
    "CLOCK_SKEW_TOLERANCE_SECONDS": ("clock_skew_tolerance_seconds", 60, 0, 86_400),
}
_BOOLEANS = {"ADD_USER_AGENT": "add_user_agent", "ADD_IP_ADDRESS": "add_ip_address"}


def _integer(environ: Mapping[str, str], name: str, default: int, lowest: int, highest: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number: allowed are {lowest} to {highest}.") from None
    if not lowest <= value <= highest:
        raise SettingsError(f"{name}={value} is out of range: allowed are {lowest} to {highest}.")
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false.")


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise SettingsError(
                f"CORS_ORIGINS holds {origin!r}, which is not an origin: use scheme://host[:port] "
                "(e.g. https://www.example.com), comma-separated, or * for any."
            )
    return origins


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Read and check the settings; raise SettingsError naming the variable and what it allows."""
    topic_arn = environ.get("TOPIC_ARN", "").strip()
    if not topic_arn:
        raise SettingsError("TOPIC_ARN is not set: it must hold the ARN of the stage's event topic.")
    if not _TOPIC_ARN.match(topic_arn):
        raise SettingsError(f"TOPIC_ARN={topic_arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>).")
    sources = {
        name: environ.get(name, "").strip() or None
        for name in ("WRITE_KEYS_PARAMETER", "WRITE_KEYS_SECRET_ARN", "WRITE_KEYS")
    }
    given = [name for name, value in sources.items() if value]
    if len(given) != 1:
        raise SettingsError(
            "Set exactly one of WRITE_KEYS_PARAMETER (an SSM SecureString parameter name), WRITE_KEYS_SECRET_ARN "
            "(a Secrets Manager secret) or WRITE_KEYS (the JSON itself, for local use): "
            + (f"{' and '.join(given)} are all set." if given else "none is set.")
        )
    parameter, secret, inline = sources.values()
    if parameter and not _PARAMETER.match(parameter):
        raise SettingsError(f"WRITE_KEYS_PARAMETER={parameter!r} is not an SSM parameter name (/path/name) or ARN.")
    if secret and not _SECRET_ARN.match(secret):
        raise SettingsError(f"WRITE_KEYS_SECRET_ARN={secret!r} is not a Secrets Manager secret ARN.")
    numbers = {field: _integer(environ, name, default, lo, hi) for name, (field, default, lo, hi) in _INTEGERS.items()}
    flags = {field: _boolean(environ, name) for name, field in _BOOLEANS.items()}
    return Settings(
        topic_arn=topic_arn,
        write_keys_parameter=parameter,
        write_keys_secret_arn=secret,
        write_keys_json=inline,
        cors_origins=_origins(environ.get("CORS_ORIGINS", "")),
        **numbers,
        **flags,
    )
