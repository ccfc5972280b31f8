# One stage's part of the shared database, made by the shared root for every
# stage (it alone holds the admin credentials): the schema, the writer role
# (the worker: INSERT only, signs in with RDS IAM authentication, so it has
# no password) and the reader role (dashboards: SELECT only, a password given
# as a SCRAM-SHA-256 verifier, so the clear password is in no state, plan or
# log). Tables and views come from the alembic migrations, run as the admin
# role (the owner); default privileges make what they create later usable by
# the right role without another apply.

locals {
  writer_role = "${var.schema_name}_writer"
  reader_role = "${var.schema_name}_reader"
  # Exactly one of the two schema resources exists (see below).
  schema_name = one(concat(postgresql_schema.this[*].name, postgresql_schema.protected[*].name))
}

# A stage that is not protected drops its schema with everything the
# migrations made in it (DROP ... CASCADE) when the stage is removed.
resource "postgresql_schema" "this" {
  count = var.protected ? 0 : 1

  name         = var.schema_name
  database     = var.db_name
  owner        = var.owner_role
  drop_cascade = true
}

# A protected stage (prod) refuses: Terraform stops any plan that would
# destroy it, and the schema would be dropped RESTRICT anyway.
resource "postgresql_schema" "protected" {
  count = var.protected ? 1 : 0

  name         = var.schema_name
  database     = var.db_name
  owner        = var.owner_role
  drop_cascade = false

  lifecycle {
    prevent_destroy = true
  }
}

resource "postgresql_role" "writer" {
  name             = local.writer_role
  login            = true
  connection_limit = var.writer_connection_limit
  search_path      = [var.schema_name]
}

# Membership in rds_iam makes RDS accept only IAM tokens for this role.
resource "postgresql_grant_role" "writer_iam" {
  role       = postgresql_role.writer.name
  grant_role = "rds_iam"
}

resource "postgresql_role" "reader" {
  name              = local.reader_role
  login             = true
  password          = var.reader_password_scram
  connection_limit  = var.reader_connection_limit
  search_path       = [var.schema_name]
  statement_timeout = var.reader_statement_timeout_ms
}

# ------------------------------------------------------------ database ---

resource "postgresql_grant" "writer_database" {
  database    = var.db_name
  role        = postgresql_role.writer.name
  object_type = "database"
  # TEMPORARY: the worker stages rows in a temp table on its slow path.
  privileges = ["CONNECT", "TEMPORARY"]
}

resource "postgresql_grant" "reader_database" {
  database    = var.db_name
  role        = postgresql_role.reader.name
  object_type = "database"
  privileges  = ["CONNECT"]
}

# -------------------------------------------------------------- schema ---

locals {
  # Who may do what: the writer (the worker) only inserts, the reader (dashboards) only reads.
  access = {
    writer_schema    = { role = postgresql_role.writer.name, object_type = "schema", privileges = ["USAGE"] }
    reader_schema    = { role = postgresql_role.reader.name, object_type = "schema", privileges = ["USAGE"] }
    writer_tables    = { role = postgresql_role.writer.name, object_type = "table", privileges = ["INSERT"] }
    writer_sequences = { role = postgresql_role.writer.name, object_type = "sequence", privileges = ["USAGE"] }
    reader_tables    = { role = postgresql_role.reader.name, object_type = "table", privileges = ["SELECT"] }
  }
  # Tables and sequences the migrations create later get the same rights by default privileges.
  default_access = { for name, grant in local.access : name => grant if grant.object_type != "schema" }
}

# The schema, and the tables and sequences that exist already. Not the writer's tables: a grant
# on "all tables" would hand it INSERT on the rollup tables again at every apply (migration 0002
# revokes it there: only the rollup triggers write them); the writer gets INSERT on each table
# the migrations create through the default privileges below.
resource "postgresql_grant" "access" {
  for_each = { for name, grant in local.access : name => grant if name != "writer_tables" }

  database    = var.db_name
  schema      = local.schema_name
  role        = each.value.role
  object_type = each.value.object_type
  objects     = each.value.object_type == "schema" ? null : []
  privileges  = each.value.privileges
}

# Tables and sequences that the migrations (run as the owner role) create later on.
resource "postgresql_default_privileges" "access" {
  for_each = local.default_access

  database    = var.db_name
  schema      = local.schema_name
  owner       = var.owner_role
  role        = each.value.role
  object_type = each.value.object_type
  privileges  = each.value.privileges
}
