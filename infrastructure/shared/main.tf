# Root: the database and KMS key that all stages share, and every stage's
# schema and roles (module analytics_db). Its own state; the only root that
# knows the database's admin password, which is ephemeral: it is in no state
# and no plan. Apply it before any stage root. Initialise with
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<bucket region>"

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = "~> 1.26"
    }
  }

  backend "s3" {
    key          = "analytics/shared/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region  = var.region
  profile = var.profile

  default_tags {
    tags = {
      project    = "analytics"
      stage      = "shared"
      managed-by = "terraform"
    }
  }
}

module "shared" {
  source = "../modules/shared"

  name                      = "analytics"
  engine_version            = var.engine_version
  instance_class            = var.instance_class
  allocated_storage         = var.allocated_storage
  max_allocated_storage     = var.max_allocated_storage
  admin_password            = var.admin_password
  admin_password_version    = var.admin_password_version
  public_access_cidr_blocks = var.public_access_cidr_blocks
  vpc_id                    = var.vpc_id
  subnet_ids                = var.subnet_ids
  backup_retention_days     = var.backup_retention_days
  deletion_protection       = var.deletion_protection
  log_retention_days        = var.log_retention_days
}

# Runs on the operator's machine, through the allow-list (doc/infrastructure.md,
# "The operator's path"); connects only once the instance exists.
provider "postgresql" {
  host            = module.shared.db_address
  port            = module.shared.db_port
  database        = module.shared.db_name
  username        = module.shared.admin_username
  password        = var.admin_password
  sslmode         = var.db_sslrootcert == null ? "require" : "verify-full"
  sslrootcert     = var.db_sslrootcert
  superuser       = false
  connect_timeout = 15
}

module "analytics_db" {
  source   = "../modules/analytics_db"
  for_each = var.stages

  schema_name           = "analytics_${each.key}"
  db_name               = module.shared.db_name
  owner_role            = module.shared.admin_username
  reader_password_scram = var.reader_password_scrams[each.key]
  protected             = contains(var.protected_stages, each.key)
}
