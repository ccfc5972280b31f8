# Root: the database and KMS key that all stages share. Its own state; apply
# it before any stage root. Initialise with
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<bucket region>"

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
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

  name                  = "analytics"
  engine_version        = var.engine_version
  instance_class        = var.instance_class
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  admin_password        = var.admin_password
  allowed_cidr_blocks   = var.allowed_cidr_blocks
  backup_retention_days = var.backup_retention_days
  deletion_protection   = var.deletion_protection
}
