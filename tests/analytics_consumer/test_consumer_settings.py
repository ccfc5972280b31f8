"""Settings come from the environment; a bad value is refused with a message naming the variable."""
import pytest

from analytics_consumer.settings import SettingsError, settings_from_env

REQUIRED = {
    "SQS_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/analytics_events_dev",
    "WORKER_LAMBDA_ARN": "arn:aws:lambda:eu-central-1:123456789012:function:analytics_worker_dev",
}


def test_defaults_fit_lambda_limits():
    # GIVEN only the required variables
    # WHEN the settings are read
    settings = settings_from_env(REQUIRED)
    # THEN the tuning has the documented defaults: batches of up to 1,000 events and 5 MB
    # (under Lambda's 6 MB synchronous payload limit), 4 parallel calls, 1 s long polling
    assert (settings.worker_timeout_seconds, settings.max_batch_events, settings.max_batch_bytes) == (30, 1000, 5_000_000)
    assert (settings.max_parallel_workers, settings.receive_wait_seconds, settings.sqs_streams) == (4, 1, 4)
    assert settings.worker_call_reserve_ms == 70_000
    assert settings.worker_read_timeout_seconds > settings.worker_timeout_seconds


def test_tuning_is_read_from_the_environment():
    # GIVEN every optional variable set
    environ = {**REQUIRED, "WORKER_TIMEOUT_SECONDS": "120", "MAX_BATCH_EVENTS": "500", "MAX_BATCH_BYTES": "1000000",
               "MAX_PARALLEL_WORKERS": "8", "RECEIVE_WAIT_SECONDS": "20", "SQS_STREAMS": "16"}
    # WHEN the settings are read
    settings = settings_from_env(environ)
    # THEN they hold those values
    assert (settings.worker_timeout_seconds, settings.max_batch_events, settings.max_batch_bytes,
            settings.max_parallel_workers, settings.receive_wait_seconds, settings.sqs_streams) == (120, 500, 1_000_000, 8, 20, 16)


def test_a_plain_function_name_is_accepted():
    settings = settings_from_env({**REQUIRED, "WORKER_LAMBDA_ARN": "analytics_worker_dev"})
    assert settings.worker_function == "analytics_worker_dev"


@pytest.mark.parametrize("name, value, expected", [
    ("SQS_URL", None, "SQS_URL is not set"),
    ("SQS_URL", "  ", "SQS_URL is not set"),
    ("SQS_URL", "analytics_events_dev", "must start with https://"),
    ("WORKER_LAMBDA_ARN", None, "WORKER_LAMBDA_ARN is not set"),
    ("WORKER_LAMBDA_ARN", "arn:aws:sqs:eu-central-1:123456789012:q", "is not a Lambda function ARN or name"),
    ("WORKER_TIMEOUT_SECONDS", "1m", "WORKER_TIMEOUT_SECONDS='1m' is not a whole number: allowed are 3 to 900"),
    ("WORKER_TIMEOUT_SECONDS", "901", "WORKER_TIMEOUT_SECONDS=901 is out of range: allowed are 3 to 900"),
    ("MAX_BATCH_EVENTS", "0", "MAX_BATCH_EVENTS=0 is out of range: allowed are 1 to 10000"),
    ("MAX_BATCH_BYTES", "7000000", "MAX_BATCH_BYTES=7000000 is out of range: allowed are 1 to 6000000"),
    ("MAX_PARALLEL_WORKERS", "-1", "MAX_PARALLEL_WORKERS=-1 is out of range: allowed are 1 to 32"),
    ("RECEIVE_WAIT_SECONDS", "21", "RECEIVE_WAIT_SECONDS=21 is out of range: allowed are 0 to 20"),
    ("RECEIVE_WAIT_SECONDS", "2.5", "RECEIVE_WAIT_SECONDS='2.5' is not a whole number"),
    ("SQS_STREAMS", "0", "SQS_STREAMS=0 is out of range: allowed are 1 to 16"),
    ("SQS_STREAMS", "17", "SQS_STREAMS=17 is out of range: allowed are 1 to 16"),
])
def test_a_bad_value_names_the_variable_and_what_is_allowed(name, value, expected):
    # GIVEN one variable missing or holding a bad value
    environ = dict(REQUIRED)
    if value is None:
        environ.pop(name)
    else:
        environ[name] = value
    # WHEN the settings are read
    # THEN the error says which variable and what it allows
    with pytest.raises(SettingsError) as error:
        settings_from_env(environ)
    assert expected in str(error.value)
