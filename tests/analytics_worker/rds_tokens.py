"""Reading and checking RDS IAM auth tokens in tests, independently of botocore (which signs them)."""
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

# Dummy credentials: botocore signs with them offline; no AWS account is involved.
ACCESS_KEY = "AKIAWORKERTEST000000"
SECRET_KEY = "worker-test-secret-key"


@dataclass(frozen=True)
class RdsToken:
    host: str
    port: int
    user: str
    region: str
    service: str
    access_key: str
    expires_seconds: int
    signature_is_valid: bool


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signature(host_port, params, secret_key):
    """SigV4 query-string signature (GET /, signed header: host), computed from scratch."""
    unsigned = sorted((k, v) for k, v in params.items() if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in unsigned)
    empty_body = hashlib.sha256(b"").hexdigest()
    canonical_request = "\n".join(["GET", "/", canonical_query, f"host:{host_port}", "", "host", empty_body])
    _, date, region, service, _ = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, digest])
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def read_token(token, secret_key=SECRET_KEY):
    """What an RDS auth token (`host:port/?Action=connect&DBUser=...&X-Amz-...`) was signed for."""
    host_port, separator, query = token.partition("/?")
    assert separator, f"not an RDS auth token: {token[:40]}..."
    params = dict(parse_qsl(query, keep_blank_values=True))
    assert params.get("Action") == "connect", params
    host, _, port = host_port.rpartition(":")
    access_key, _, region, service, _ = params["X-Amz-Credential"].split("/")
    return RdsToken(
        host=host,
        port=int(port),
        user=params["DBUser"],
        region=region,
        service=service,
        access_key=access_key,
        expires_seconds=int(params["X-Amz-Expires"]),
        signature_is_valid=hmac.compare_digest(_signature(host_port, params, secret_key), params["X-Amz-Signature"]),
    )
