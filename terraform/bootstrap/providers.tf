provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "polybot", Component = "bootstrap", ManagedBy = "terraform" }, var.tags)
  }
}
