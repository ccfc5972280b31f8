"""boto3 clients for the tasks: standard AWS variables first, invoke.yaml as the fallback.

- Credentials: the usual boto3 chain. `AWS_PROFILE` wins; invoke.yaml's `profile` is used
  only when no `AWS_PROFILE` and no `AWS_ACCESS_KEY_ID` are set and that profile exists.
- Region: the stage's own `region` output (its resources live there), else `AWS_REGION` /
  `AWS_DEFAULT_REGION`, else invoke.yaml's `region`.
- Endpoint: boto3 reads `AWS_ENDPOINT_URL` (moto server, LocalStack) by itself.
"""
import contextlib
import os

import boto3
import botocore.exceptions
from invoke import Exit


def session(config_profile=None, config_region=None, stage=None):
    profile = os.environ.get("AWS_PROFILE")
    if not profile and config_profile and not os.environ.get("AWS_ACCESS_KEY_ID"):
        if config_profile in boto3.Session().available_profiles:
            profile = config_profile
    region = (
        (stage.region if stage is not None else None)
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or config_region
    )
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise Exit(f"AWS profile {profile!r} does not exist: fix AWS_PROFILE or run `aws configure --profile {profile}`.") from None


def for_context(c, stage=None):
    """The session for an invoke Context (its `profile` and `region` settings)."""
    return session(c.config.get("profile"), c.config.get("region"), stage)


@contextlib.contextmanager
def errors(action):
    """Turn AWS failures into invoke.Exit messages that say what to do."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise Exit(
            f"{action}: no AWS credentials. Set AWS_PROFILE (or `profile` in invoke.yaml) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
        ) from None
    except botocore.exceptions.EndpointConnectionError as error:
        raise Exit(f"{action}: cannot reach {error.kwargs.get('endpoint_url')}: check AWS_ENDPOINT_URL / the network.") from None
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {})
        raise Exit(f"{action}: {detail.get('Code', 'error')}: {detail.get('Message', error)}") from None
    except botocore.exceptions.WaiterError as error:
        raise Exit(f"{action}: {error}") from None
