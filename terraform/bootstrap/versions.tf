terraform {
  # Terraform's own state of this configuration stays local (or is migrated into
  # the bucket it creates, see README.md); 1.10 for the S3 native lock files
  # the main configuration's state uses.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81: the OIDC provider's thumbprint_list is optional (AWS trusts
      # GitHub's certificate authority itself).
      version = ">= 5.81, < 6.0"
    }
  }
}
