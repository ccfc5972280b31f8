"""Settings from the environment: clear errors naming the variable."""
import pytest

from analytics_collector.keys import KeyRing, KeysError, key_of_request, parse_keys
from analytics_collector.settings import SettingsError, settings_from_env

TOPIC = "arn:aws:sns:eu-central-1:123456789012:event_created_dev"


def test_defaults_with_the_two_required_settings():
    settings = settings_from_env({"TOPIC_ARN": TOPIC, "WRITE_KEYS_PARAMETER": "/analytics/dev/collector/write-keys"})
    assert settings.max_events == 500 and settings.max_body_bytes == 262_144
    assert settings.cors_origins == () and not settings.add_user_agent and not settings.add_ip_address


@pytest.mark.parametrize(
    "environ, words",
    [
        ({}, "TOPIC_ARN is not set"),
        ({"TOPIC_ARN": "event_created_dev", "WRITE_KEYS": "{}"}, "not an SNS topic ARN"),
        ({"TOPIC_ARN": TOPIC}, "none is set"),
        ({"TOPIC_ARN": TOPIC, "WRITE_KEYS": "{}", "WRITE_KEYS_PARAMETER": "/a"}, "are all set"),
        ({"TOPIC_ARN": TOPIC, "WRITE_KEYS": "{}", "MAX_EVENTS": "501"}, "MAX_EVENTS=501 is out of range"),
        ({"TOPIC_ARN": TOPIC, "WRITE_KEYS": "{}", "MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES='lots' is not a whole number"),
        ({"TOPIC_ARN": TOPIC, "WRITE_KEYS": "{}", "CORS_ORIGINS": "shop.example.com"}, "not an origin"),
        ({"TOPIC_ARN": TOPIC, "WRITE_KEYS": "{}", "ADD_IP_ADDRESS": "maybe"}, "ADD_IP_ADDRESS='maybe' is not a boolean"),
    ],
)
def test_a_wrong_setting_is_named_in_the_error(environ, words):
    with pytest.raises(SettingsError, match=words):
        settings_from_env(environ)


def test_stored_keys_are_checked_without_echoing_a_key():
    assert parse_keys("{}", "SSM parameter /k") == {}  # a stage without apps yet: every request 401
    with pytest.raises(KeysError, match="not JSON"):
        parse_keys("nope", "SSM parameter /k")
    with pytest.raises(KeysError) as short:
        parse_keys('{"abc": "shop"}', "SSM parameter /k")
    assert "abc" not in str(short.value) and "number 1" in str(short.value)


def test_basic_auth_with_the_key_as_user_name_or_password_and_the_query_key():
    assert key_of_request({"authorization": "Basic c2hvcC13ZWIta2V5LTAwMDE6"}, {}) == "shop-web-key-0001"
    assert key_of_request({"authorization": "Basic OnNob3Atd2ViLWtleS0wMDAx"}, {}) == "shop-web-key-0001"
    assert key_of_request({}, {"key": "k"}) == "k"
    assert key_of_request({"authorization": "Basic !!!"}, {"key": "k"}) is None


def test_keys_are_reloaded_after_the_cache_time_and_a_failed_reload_keeps_the_old_ones():
    # GIVEN a key ring that reads a store we change, with a clock we move
    store = {"keys": {"old-key-0001": "shop"}}
    clock = [0.0]

    def load():
        if store["keys"] is None:
            raise ConnectionError("SSM unreachable")
        return dict(store["keys"])

    ring = KeyRing(load, cache_seconds=300, clock=lambda: clock[0])
    assert ring.app_for("old-key-0001") == "shop"
    # WHEN the key is rotated: THEN the old one works until the cache time is up
    store["keys"] = {"new-key-0001": "shop"}
    assert ring.app_for("old-key-0001") == "shop"
    clock[0] = 301
    assert ring.app_for("old-key-0001") is None and ring.app_for("new-key-0001") == "shop"
    # WHEN the store is unreachable at the next reload THEN the keys in hand keep working
    store["keys"], clock[0] = None, 700
    assert ring.app_for("new-key-0001") == "shop"


def test_inv_invoke_of_the_collector_on_a_deployed_stage_gets_its_topic_and_keys_parameter():
    # GIVEN the outputs of a deployed stage that has the collector
    from ops import lambdas
    from ops import stage as stage_module

    outputs = {"topic_arn": {"value": TOPIC}, "collector_write_keys_parameter": {"value": "/analytics/dev/collector/write-keys"}}
    stage = stage_module.Stage("dev", {k: v["value"] for k, v in outputs.items()}, source="test")
    # WHEN `inv invoke analytics_collector --local` builds the function's environment
    environment = lambdas.local_environment("analytics_collector", stage)
    # THEN it is what Terraform gives the deployed function, and settings accept it
    assert environment == {"TOPIC_ARN": TOPIC, "WRITE_KEYS_PARAMETER": "/analytics/dev/collector/write-keys"}
    assert settings_from_env(environment).write_keys_parameter == "/analytics/dev/collector/write-keys"
