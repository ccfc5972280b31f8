"""rollups: daily counts by type and app, daily active users and daily rejections, kept by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Why triggers, and which kind
----------------------------
The dashboard views used to aggregate the whole `events` table on every refresh, so their
cost grew with the number of events. Now they read small rollup tables (one row per day and
key) that are kept up to date in the same transaction that stores the events:

* A statement-level AFTER INSERT trigger with a transition table (REFERENCING NEW TABLE) sees
  exactly the rows the statement stored: a COPY that fails on a duplicate is rolled back with
  its trigger, and `INSERT ... ON CONFLICT DO NOTHING` lists only the rows it inserted. So a
  duplicate or a replayed batch adds nothing, a rejected item never reaches `events`, and the
  rollups stay exact. Per statement (not per row) keeps the cost to one aggregate of the batch.
* The trigger functions are SECURITY DEFINER, owned by the schema owner (the role that runs
  migrations), with a pinned search_path: the worker's writer role has INSERT on `events`
  only and needs no right at all on the rollup tables. Non-owner write rights on the rollup
  tables (from default privileges) are revoked below, so only the triggers change them.
* Daily active users are exact: `rollup_user_days` holds each (day, user_id) once
  (INSERT ... ON CONFLICT DO NOTHING); the rows it really inserted increment
  `rollup_active_users`, which the view reads (counting the pairs at query time would
  again grow with users x days).
* An AFTER DELETE trigger (OLD TABLE) takes deleted events and rejections back out, so
  `inv prune` and `inv forget-user` (ops/retention.py) keep the rollups right.
* Days are cut in the time zone of `rollup_settings` (default UTC; any name Postgres knows,
  half-hour zones included). `rollups_set_time_zone(zone)` changes it and rebuilds
  (`inv rollups-rebuild --time-zone ...`).

This migration builds the rollups from the events already stored, so an existing stage
upgrades in place.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLLUP_TABLES = ("rollup_settings", "rollup_event_counts", "rollup_user_days", "rollup_active_users", "rollup_rejections")
TRIGGER_FUNCTIONS = ("rollups_add_events()", "rollups_remove_events()", "rollups_add_rejections()", "rollups_remove_rejections()")
ADMIN_FUNCTIONS = ("rollups_rebuild()", "rollups_set_time_zone(text)")

# Unqualified names: env.py sets search_path to the target schema.
TABLES = """
CREATE TABLE rollup_settings (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    time_zone text    NOT NULL DEFAULT 'UTC'
);
INSERT INTO rollup_settings DEFAULT VALUES;
COMMENT ON TABLE rollup_settings IS 'The time zone the rollups cut days in; change it with rollups_set_time_zone(zone).';

CREATE TABLE rollup_event_counts (
    day        date         NOT NULL,
    event_type varchar(128) NOT NULL,
    app_title  varchar(128),
    events     bigint       NOT NULL
);
-- One row per key, events without app_title included (an expression key, not NULLS NOT DISTINCT:
-- PostgreSQL 14 has no such constraint, and the shared module allows 14).
CREATE UNIQUE INDEX rollup_event_counts_key
    ON rollup_event_counts (day, event_type, (app_title IS NULL), coalesce(app_title, ''));
COMMENT ON TABLE rollup_event_counts IS 'Events per day (in rollup_settings.time_zone), type and app; kept by triggers on events.';

CREATE TABLE rollup_user_days (
    day     date         NOT NULL,
    user_id varchar(128) NOT NULL,
    PRIMARY KEY (day, user_id)
);
COMMENT ON TABLE rollup_user_days IS 'Each user once per day they sent an event; kept by triggers on events.';

CREATE TABLE rollup_active_users (
    day          date   PRIMARY KEY,
    active_users bigint NOT NULL
);
COMMENT ON TABLE rollup_active_users IS 'Rows of rollup_user_days per day (exact daily active users).';

CREATE TABLE rollup_rejections (
    day      date   NOT NULL,
    reason   text   NOT NULL,
    rejected bigint NOT NULL
);
-- md5: a reason can be longer than a btree entry may be.
CREATE UNIQUE INDEX rollup_rejections_key ON rollup_rejections (day, md5(reason));
COMMENT ON TABLE rollup_rejections IS 'Rejected items per day (of received_at) and reason; kept by triggers on rejected_events.';
"""

FUNCTIONS = """
CREATE FUNCTION rollups_add_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    zone text := (SELECT time_zone FROM rollup_settings);
BEGIN
    -- Keys in one order in every transaction, so concurrent workers never deadlock here.
    INSERT INTO rollup_event_counts AS r (day, event_type, app_title, events)
    SELECT (event_timestamp AT TIME ZONE zone)::date, event_type, app_title, count(*)
    FROM new_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, event_type, (app_title IS NULL), coalesce(app_title, ''))
    DO UPDATE SET events = r.events + excluded.events;

    WITH added AS (
        INSERT INTO rollup_user_days (day, user_id)
        SELECT DISTINCT (event_timestamp AT TIME ZONE zone)::date, user_id
        FROM new_events WHERE user_id IS NOT NULL ORDER BY 1, 2
        ON CONFLICT DO NOTHING
        RETURNING day
    )
    INSERT INTO rollup_active_users AS r (day, active_users)
    SELECT day, count(*) FROM added GROUP BY day ORDER BY day
    ON CONFLICT (day) DO UPDATE SET active_users = r.active_users + excluded.active_users;
    RETURN NULL;
END $$;

CREATE FUNCTION rollups_remove_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    zone text := (SELECT time_zone FROM rollup_settings);
    days date[];
BEGIN
    SELECT array_agg(DISTINCT (event_timestamp AT TIME ZONE zone)::date) INTO days FROM old_events;

    -- Lock the rows in key order (as the insert trigger does) before taking the counts back out.
    PERFORM 1 FROM rollup_event_counts r
    WHERE r.day = ANY (days)
      AND (r.day, r.event_type, coalesce(r.app_title, '')) IN (
          SELECT (event_timestamp AT TIME ZONE zone)::date, event_type, coalesce(app_title, '') FROM old_events)
    ORDER BY r.day, r.event_type, r.app_title FOR UPDATE;
    UPDATE rollup_event_counts r SET events = r.events - g.n
    FROM (SELECT (event_timestamp AT TIME ZONE zone)::date AS day, event_type, app_title, count(*) AS n
          FROM old_events GROUP BY 1, 2, 3) g
    WHERE r.day = g.day AND r.event_type = g.event_type AND r.app_title IS NOT DISTINCT FROM g.app_title;
    DELETE FROM rollup_event_counts WHERE day = ANY (days) AND events <= 0;

    -- A user stays active on a day while any event of theirs is left in that day. The lock makes
    -- workers that store an event of the same user and day wait, so the check below cannot miss it.
    LOCK TABLE rollup_user_days IN SHARE ROW EXCLUSIVE MODE;
    WITH candidates AS (
        SELECT DISTINCT (event_timestamp AT TIME ZONE zone)::date AS day, user_id
        FROM old_events WHERE user_id IS NOT NULL
    ), removed AS (
        DELETE FROM rollup_user_days d USING candidates c
        WHERE d.day = c.day AND d.user_id = c.user_id
          AND NOT EXISTS (
              SELECT 1 FROM events e
              WHERE e.user_id = c.user_id
                AND e.event_timestamp >= (c.day::timestamp AT TIME ZONE zone)
                AND e.event_timestamp < ((c.day + 1)::timestamp AT TIME ZONE zone))
        RETURNING d.day
    )
    UPDATE rollup_active_users r SET active_users = r.active_users - g.n
    FROM (SELECT day, count(*) AS n FROM removed GROUP BY day) g
    WHERE r.day = g.day;
    DELETE FROM rollup_active_users WHERE day = ANY (days) AND active_users <= 0;
    RETURN NULL;
END $$;

CREATE FUNCTION rollups_add_rejections() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    zone text := (SELECT time_zone FROM rollup_settings);
BEGIN
    INSERT INTO rollup_rejections AS r (day, reason, rejected)
    SELECT (received_at AT TIME ZONE zone)::date, reason, count(*)
    FROM new_rejections GROUP BY 1, 2 ORDER BY 1, md5(reason)
    ON CONFLICT (day, md5(reason)) DO UPDATE SET rejected = r.rejected + excluded.rejected;
    RETURN NULL;
END $$;

CREATE FUNCTION rollups_remove_rejections() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    zone text := (SELECT time_zone FROM rollup_settings);
BEGIN
    UPDATE rollup_rejections r SET rejected = r.rejected - g.n
    FROM (SELECT (received_at AT TIME ZONE zone)::date AS day, reason, count(*) AS n FROM old_rejections GROUP BY 1, 2) g
    WHERE r.day = g.day AND md5(r.reason) = md5(g.reason);
    DELETE FROM rollup_rejections WHERE rejected <= 0;
    RETURN NULL;
END $$;

CREATE FUNCTION rollups_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    zone text := (SELECT time_zone FROM rollup_settings);
BEGIN
    -- Writers wait until the rebuild commits (readers do not), so no event is counted twice or missed.
    LOCK TABLE events, rejected_events IN SHARE MODE;
    TRUNCATE rollup_event_counts, rollup_user_days, rollup_active_users, rollup_rejections;
    INSERT INTO rollup_event_counts (day, event_type, app_title, events)
    SELECT (event_timestamp AT TIME ZONE zone)::date, event_type, app_title, count(*) FROM events GROUP BY 1, 2, 3;
    INSERT INTO rollup_user_days (day, user_id)
    SELECT DISTINCT (event_timestamp AT TIME ZONE zone)::date, user_id FROM events WHERE user_id IS NOT NULL;
    INSERT INTO rollup_active_users (day, active_users)
    SELECT day, count(*) FROM rollup_user_days GROUP BY day;
    INSERT INTO rollup_rejections (day, reason, rejected)
    SELECT (received_at AT TIME ZONE zone)::date, reason, count(*) FROM rejected_events GROUP BY 1, 2;
END $$;

CREATE FUNCTION rollups_set_time_zone(zone text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM now() AT TIME ZONE zone;  -- raises `time zone "..." not recognized` for an unknown name
    UPDATE rollup_settings SET time_zone = zone;
    PERFORM rollups_rebuild();
END $$;

CREATE TRIGGER events_rollups_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION rollups_add_events();
CREATE TRIGGER events_rollups_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION rollups_remove_events();
CREATE TRIGGER rejected_events_rollups_insert AFTER INSERT ON rejected_events
    REFERENCING NEW TABLE AS new_rejections FOR EACH STATEMENT EXECUTE FUNCTION rollups_add_rejections();
CREATE TRIGGER rejected_events_rollups_delete AFTER DELETE ON rejected_events
    REFERENCING OLD TABLE AS old_rejections FOR EACH STATEMENT EXECUTE FUNCTION rollups_remove_rejections();
"""

# The functions run as their owner with this schema first; pg_temp last, so no temporary object
# of the caller can stand in for a table.
PIN_AND_REVOKE = f"""
DO $$
DECLARE
    f text;
    t record;
BEGIN
    FOREACH f IN ARRAY ARRAY{list(TRIGGER_FUNCTIONS + ADMIN_FUNCTIONS)!r} LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
    -- Default privileges may have given the writer INSERT on every new table: only the triggers
    -- write the rollups.
    FOR t IN
        SELECT DISTINCT c.relname, a.grantee
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relname = ANY (ARRAY{list(ROLLUP_TABLES)!r})
          AND a.grantee <> c.relowner
          AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM %s', t.relname,
                       CASE WHEN t.grantee = 0 THEN 'PUBLIC' ELSE t.grantee::regrole::text END);
    END LOOP;
END $$;
"""

VIEWS = """
SELECT rollups_rebuild();

-- Same columns as before (CREATE OR REPLACE keeps the grants dashboards already hold).
CREATE OR REPLACE VIEW daily_event_counts AS
SELECT day, event_type, sum(events)::bigint AS events
FROM rollup_event_counts
GROUP BY day, event_type;

CREATE OR REPLACE VIEW daily_active_users AS
SELECT day, active_users FROM rollup_active_users;

CREATE OR REPLACE VIEW daily_rejections AS
SELECT day, reason, rejected FROM rollup_rejections;

CREATE VIEW daily_app_event_counts AS
SELECT day, app_title, event_type, events FROM rollup_event_counts;

COMMENT ON VIEW daily_event_counts IS 'Events per day and type (days in rollup_settings.time_zone).';
COMMENT ON VIEW daily_app_event_counts IS 'Events per day, app and type (days in rollup_settings.time_zone).';
COMMENT ON VIEW daily_active_users IS 'Distinct users per day (days in rollup_settings.time_zone).';
COMMENT ON VIEW daily_rejections IS 'Rejected items per day of arrival and reason (days in rollup_settings.time_zone).';
"""

DOWNGRADE = """
DROP VIEW daily_app_event_counts;
CREATE OR REPLACE VIEW daily_event_counts AS
SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, event_type, count(*) AS events
FROM events GROUP BY 1, 2;
CREATE OR REPLACE VIEW daily_active_users AS
SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, count(DISTINCT user_id) AS active_users
FROM events WHERE user_id IS NOT NULL GROUP BY 1;
CREATE OR REPLACE VIEW daily_rejections AS
SELECT (received_at AT TIME ZONE 'UTC')::date AS day, reason, count(*) AS rejected
FROM rejected_events GROUP BY 1, 2;
COMMENT ON VIEW daily_event_counts IS NULL;
COMMENT ON VIEW daily_active_users IS NULL;
COMMENT ON VIEW daily_rejections IS NULL;
DROP TRIGGER events_rollups_insert ON events;
DROP TRIGGER events_rollups_delete ON events;
DROP TRIGGER rejected_events_rollups_insert ON rejected_events;
DROP TRIGGER rejected_events_rollups_delete ON rejected_events;
DROP FUNCTION rollups_set_time_zone(text);
DROP FUNCTION rollups_rebuild();
DROP FUNCTION rollups_add_events();
DROP FUNCTION rollups_remove_events();
DROP FUNCTION rollups_add_rejections();
DROP FUNCTION rollups_remove_rejections();
DROP TABLE rollup_rejections, rollup_active_users, rollup_user_days, rollup_event_counts, rollup_settings;
"""


def upgrade():
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute(PIN_AND_REVOKE)
    op.execute(VIEWS)


def downgrade():
    op.execute(DOWNGRADE)
