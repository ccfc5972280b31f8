"""The alembic migrations build the whole schema in the schema chosen at run time, and take it down again."""
from ops import migrations


def relations(db, schema):
    rows = db.query(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,)
    )
    return dict(rows)


def test_upgrade_puts_every_object_in_the_chosen_schema(migrated_db):
    # GIVEN a database migrated to head into schema analytics_test (by the fixture)
    # WHEN we list what the schema and public hold
    in_schema = relations(migrated_db, migrated_db.schema)
    in_public = relations(migrated_db, "public")

    # THEN tables, views and the alembic version table are all in the chosen schema
    assert in_schema == {
        "alembic_version": "BASE TABLE",
        "events": "BASE TABLE",
        "rejected_events": "BASE TABLE",
        "daily_event_counts": "VIEW",
        "daily_active_users": "VIEW",
        "daily_rejections": "VIEW",
        "daily_app_event_counts": "VIEW",
        "rollup_settings": "BASE TABLE",
        "rollup_event_counts": "BASE TABLE",
        "rollup_user_days": "BASE TABLE",
        "rollup_active_users": "BASE TABLE",
        "rollup_rejections": "BASE TABLE",
    }
    assert in_public == {}


def test_downgrade_to_base_and_upgrade_again(migrated_db):
    # GIVEN a migrated schema
    # WHEN it is downgraded to base
    migrations.downgrade(migrated_db.url, migrated_db.schema, "base")

    # THEN only the (empty) version table is left
    assert relations(migrated_db, migrated_db.schema) == {"alembic_version": "BASE TABLE"}
    assert migrated_db.query(f"SELECT count(*) FROM {migrated_db.schema}.alembic_version") == [(0,)]

    # AND upgrading again rebuilds everything
    migrations.upgrade(migrated_db.url, migrated_db.schema, "head")
    assert "events" in relations(migrated_db, migrated_db.schema)


def test_two_schemas_in_one_database_are_independent(migrated_db):
    # GIVEN a database that already holds analytics_test
    # WHEN a second stage's schema is migrated into the same database
    migrations.upgrade(migrated_db.url, "analytics_other")

    # THEN both schemas have their own tables and version rows
    assert "events" in relations(migrated_db, "analytics_other")
    assert migrated_db.query("SELECT version_num FROM analytics_other.alembic_version") == [("0002",)]
    assert migrated_db.query(f"SELECT version_num FROM {migrated_db.schema}.alembic_version") == [("0002",)]
