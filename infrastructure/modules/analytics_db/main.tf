# One stage's part of the shared database: its schema, the writer role (the
# worker: INSERT only) and the reader role (dashboards: SELECT only), and the
# worker's database URL in Secrets Manager. Tables and views come from the
# alembic migrations, run as the admin role (the owner); default privileges
# make what they create later usable by the right role without another apply.

locals {
  writer_role = "${var.schema_name}_writer"
  reader_role = "${var.schema_name}_reader"
  url_tail    = "@${var.db_host}:${var.db_port}/${var.db_name}?sslmode=${var.sslmode}"
}

resource "postgresql_schema" "this" {
  name     = var.schema_name
  database = var.db_name
  owner    = var.owner_role
}

resource "postgresql_role" "writer" {
  name             = local.writer_role
  login            = true
  password         = var.writer_password
  connection_limit = var.writer_connection_limit
  search_path      = [var.schema_name]
}

resource "postgresql_role" "reader" {
  name              = local.reader_role
  login             = true
  password          = var.reader_password
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

# The schema, and the tables and sequences that exist already.
resource "postgresql_grant" "access" {
  for_each = local.access

  database    = var.db_name
  schema      = postgresql_schema.this.name
  role        = each.value.role
  object_type = each.value.object_type
  objects     = each.value.object_type == "schema" ? null : []
  privileges  = each.value.privileges
}

# Tables and sequences that the migrations (run as the owner role) create later on.
resource "postgresql_default_privileges" "access" {
  for_each = local.default_access

  database    = var.db_name
  schema      = postgresql_schema.this.name
  owner       = var.owner_role
  role        = each.value.role
  object_type = each.value.object_type
  privileges  = each.value.privileges
}

# ------------------------------------------- the worker's database URL ---

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:No automatic rotation: the writer password is set by Terraform (postgresql_role.password); rotate it by changing writer_password and applying, which updates the role and this secret together.
  name                    = var.secret_name
  description             = "libpq URL of ${local.writer_role}, read by the analytics worker (DB_SECRET_ARN)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id     = aws_secretsmanager_secret.this.id
  secret_string = "postgresql://${postgresql_role.writer.name}:${urlencode(var.writer_password)}${local.url_tail}"
}
