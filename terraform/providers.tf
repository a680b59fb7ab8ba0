provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "polybot", Environment = var.environment, ManagedBy = "terraform" }, var.tags)
  }
}
