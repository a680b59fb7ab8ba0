# What Polybot's pipelines need before their first run, applied once by hand
# with administrator credentials (README.md, "From an empty account"): the
# bucket holding the main configuration's state, the bucket sam deploy uploads
# to, the two image repositories, and the roles GitHub Actions deploys with.
# The permissions of those roles are in policies.tf.

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  buckets = {
    state = {
      name    = coalesce(var.state_bucket_name, "${var.name}-tfstate-${local.account_id}-${local.region}")
      purpose = "Terraform state of Polybot's main configuration"
    }
    artifacts = {
      name    = coalesce(var.artifacts_bucket_name, "${var.name}-sam-artifacts-${local.account_id}-${local.region}")
      purpose = "Packaged SAM templates and function code (sam deploy --s3-bucket)"
    }
  }
  # Built from names rather than taken from the resources, so every policy is
  # known, and checked, at plan time (tests/infrastructure).
  bucket_arns = { for key, bucket in local.buckets : key => "arn:${local.partition}:s3:::${bucket.name}" }
}

# --- the two buckets: private, encrypted, TLS only ---

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logs would need a third bucket; only the deploy role and administrators touch these, and CloudTrail records who did.
  #checkov:skip=CKV_AWS_144:Cross-region replication: the state can be rebuilt by import and the artifacts by the next deploy; a second region doubles the cost for neither.
  #checkov:skip=CKV2_AWS_62:No one consumes event notifications of a state or artifacts bucket.
  for_each = local.buckets

  bucket = each.value.name

  tags = { Purpose = each.value.purpose }

  # Losing the state bucket loses track of every resource of the main configuration.
  lifecycle {
    prevent_destroy = true
  }
}

# The state keeps its history: a bad apply can be rolled back to an older version.
# The artifacts need none (each upload has a key of its own).
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.this["state"].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  # The AWS-managed key: any principal the bucket's IAM rules let in may use it
  # through S3, so no KMS grant is needed anywhere.
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.bucket_arns

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.this["state"].id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.state_noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.this["artifacts"].id

  rule {
    id     = "expire-uploads"
    status = "Enabled"
    filter {}
    expiration {
      days = var.artifacts_expiry_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# --- the image repositories: a tag names one image for ever ---

resource "aws_ecr_repository" "this" {
  for_each = var.repositories

  name = each.value
  # Pipelines tag each image with its git commit SHA; immutability makes that
  # reference mean one image, so a launch template that names it is reproducible.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # The AWS-managed key: pushing and pulling need no KMS permissions.
  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = { Part = each.key }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged images expire after ${var.untagged_image_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        # "any" after the untagged rule: only tagged images are left to count.
        rulePriority = 2
        description  = "Only the newest ${var.keep_tagged_images} tagged images are kept"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# --- GitHub Actions: OIDC tokens instead of stored keys ---

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == "" ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  oidc_provider_arn = coalesce(var.github_oidc_provider_arn, "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com")
  repository        = "${var.github_owner}/${var.github_repository}"
  # The token's subject: a job in a GitHub environment carries the environment,
  # any other job its git ref; pull requests carry neither and are not matched.
  github_subjects = concat(
    [for ref in var.github_refs : "repo:${local.repository}:ref:${ref}"],
    [for environment in var.environments : "repo:${local.repository}:environment:${environment}"],
  )
}

data "aws_iam_policy_document" "github_trust" {
  #checkov:skip=CKV_AWS_358:The subjects are built from variables by for expressions, which checkov cannot evaluate. Each is exact (StringEquals, no wildcard): repo:<owner>/<repository>:ref:<ref> or repo:<owner>/<repository>:environment:<environment>; tests/infrastructure/test_terraform_bootstrap.py checks the rendered list.
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = local.github_subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "${var.name}-github-deploy"
  description        = "Polybot's pipelines (${local.repository}): push images, sam deploy, terraform apply"
  assume_role_policy = data.aws_iam_policy_document.github_trust.json

  depends_on = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_policy" "deploy" {
  for_each = local.deploy_policies

  name        = "${var.name}-deploy-${each.key}"
  description = each.value.description
  policy      = each.value.json
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each = aws_iam_policy.deploy

  role       = aws_iam_role.deploy.name
  policy_arn = each.value.arn
}

# --- the role CloudFormation deploys the SAM stack with: the pipelines may
# only hand it to CloudFormation, so they create the serverless half's
# resources only through stacks named <name>-<environment> ---

data "aws_iam_policy_document" "cloudformation_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["cloudformation.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudformation" {
  name               = "${var.name}-cloudformation"
  description        = "CloudFormation, deploying Polybot's SAM stacks (${join(", ", [for e in var.environments : "${var.name}-${e}"])})"
  assume_role_policy = data.aws_iam_policy_document.cloudformation_trust.json
}

resource "aws_iam_policy" "cloudformation" {
  for_each = local.cloudformation_policies

  name        = "${var.name}-cloudformation-${each.key}"
  description = each.value.description
  policy      = each.value.json
}

resource "aws_iam_role_policy_attachment" "cloudformation" {
  for_each = aws_iam_policy.cloudformation

  role       = aws_iam_role.cloudformation.name
  policy_arn = each.value.arn
}
