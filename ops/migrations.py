"""Run the alembic migrations against one schema of one database."""
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(url, schema):
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = url
    config.attributes["schema"] = schema
    return config


def upgrade(url, schema, revision="head"):
    command.upgrade(alembic_config(url, schema), revision)


def downgrade(url, schema, revision="base"):
    command.downgrade(alembic_config(url, schema), revision)
