"""Lambda handler of analytics_worker: wiring only; the work is in the analytics_worker package."""
import os

from analytics_worker.database import ReusableConnection, connection_parameters
from analytics_worker.log import log
from analytics_worker.payload import answer, read_payload
from analytics_worker.settings import settings_from_env
from analytics_worker.store import store_batch

_container = {}  # settings and the one connection of this container, made by its first call


def _settings_and_connection():
    if not _container:
        settings = settings_from_env(os.environ)
        connection = ReusableConnection(connection_parameters(settings.database), log=log)
        _container.update(settings=settings, connection=connection)
        log.info("analytics_worker settings", **settings.describe())
    return _container["settings"], _container["connection"]


@log.lambda_call
def main(event, context):
    """Store a list of items or an SQS event's bodies in one transaction; raises if the database fails."""
    payload = read_payload(event)
    settings, connection = _settings_and_connection()
    counts = connection.run(lambda c: store_batch(c, settings.schema, payload.items)).as_dict()
    log.info("batch stored", **counts)
    return answer(payload, counts)
