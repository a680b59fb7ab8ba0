terraform {
  # 1.10: the S3 backend's native locking (use_lockfile), which the pipelines use.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81, < 6.0"
    }
  }

  # State: no backend here, so the offline tests can init this folder as it is.
  # The pipelines add `backend "s3" {}` (an override file) with the bucket the
  # bootstrap configuration creates; see README.md.
}
