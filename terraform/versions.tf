terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81, < 6.0"
    }
  }

  # State: add a backend "s3" block here (or pass -backend-config to an empty
  # one) before the first apply to a real account; see README.md.
}
