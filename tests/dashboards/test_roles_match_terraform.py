"""The stage roles the local stack makes (ops/local_stack/roles.py) hold what infrastructure/modules/analytics_db grants."""
import contextlib

import psycopg2
from dashboard_checks import role_url, stage_db  # noqa: F401

from ops import hcl
from ops.functions import ROOT
from ops.local_stack import roles

MODULE = ROOT / "infrastructure" / "modules" / "analytics_db" / "main.tf"
CHECK = {
    "schema": "has_schema_privilege(%(role)s, %(schema)s, %(privilege)s)",
    "table": "has_table_privilege(%(role)s, %(schema)s || '.events', %(privilege)s)",
    "sequence": "has_sequence_privilege(%(role)s, pg_get_serial_sequence(%(schema)s || '.events', 'id'), %(privilege)s)",
}


def terraform_access():
    """{(role, object_type): {privileges}} from the module's `access` local, and its role-name templates."""
    blocks = hcl.load(MODULE)["locals"]
    merged = {k: v for block in blocks for k, v in block.items()}
    access = {}
    for grant in merged["access"].values():
        role = "writer" if "writer" in grant["role"] else "reader"
        access[(role, grant["object_type"].strip('"'))] = {p.strip('"') for p in grant["privileges"]}
    return access, merged["writer_role"].strip('"'), merged["reader_role"].strip('"')


def test_role_names_and_privileges_agree_with_the_terraform_module(stage_db):
    # GIVEN the grants of the Terraform module, and the roles made here on a migrated schema
    access, writer_template, reader_template = terraform_access()
    assert writer_template.replace("${var.schema_name}", stage_db.schema) == roles.role_name(stage_db.schema, "writer")
    assert reader_template.replace("${var.schema_name}", stage_db.schema) == roles.role_name(stage_db.schema, "reader")
    with contextlib.closing(psycopg2.connect(stage_db.url)) as connection, connection.cursor() as cursor:
        for (role, object_type), privileges in access.items():
            params = {"role": roles.role_name(stage_db.schema, role), "schema": stage_db.schema}
            # THEN each role holds exactly the privileges Terraform grants on events (and its schema / sequence)
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "USAGE") if object_type != "schema" else ("USAGE", "CREATE"):
                if object_type == "sequence" and privilege in ("INSERT", "DELETE"):
                    continue
                if object_type == "table" and privilege == "USAGE":
                    continue
                cursor.execute(f"SELECT {CHECK[object_type]}", {**params, "privilege": privilege})
                assert cursor.fetchone()[0] == (privilege in privileges), (role, object_type, privilege)
