output "state_bucket" {
  description = "Bucket of the main configuration's Terraform state (GitHub variable TF_STATE_BUCKET); states live under polybot/<environment>/terraform.tfstate."
  value       = aws_s3_bucket.this["state"].bucket
}

output "artifacts_bucket" {
  description = "Bucket sam deploy uploads to (GitHub variable SAM_ARTIFACTS_BUCKET)."
  value       = aws_s3_bucket.this["artifacts"].bucket
}

output "repository_urls" {
  description = "ECR repositories by part (bot, worker); an image reference is <url>:<git commit SHA>."
  value       = { for part, repository in aws_ecr_repository.this : part => repository.repository_url }
}

output "repository_arns" {
  description = "ECR repositories' ARNs by part (bot, worker)."
  value       = { for part, repository in aws_ecr_repository.this : part => repository.arn }
}

output "deploy_role_arn" {
  description = "Role the pipelines assume by OIDC (GitHub variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "cloudformation_role_arn" {
  description = "Role CloudFormation deploys the SAM stack with (GitHub variable SAM_CLOUDFORMATION_ROLE_ARN)."
  value       = aws_iam_role.cloudformation.arn
}

output "workload_boundary_name" {
  description = "Permissions boundary every role the pipelines create must carry: template.yaml's PermissionsBoundaryName and the main configuration's permissions_boundary_name (both default to it when name is polybot)."
  value       = aws_iam_policy.workload_boundary.name
}

output "workload_boundary_arn" {
  description = "ARN of the permissions boundary every role the pipelines create must carry."
  value       = aws_iam_policy.workload_boundary.arn
}

output "github_oidc_provider_arn" {
  description = "The account's GitHub Actions OIDC provider."
  value       = local.oidc_provider_arn
}

output "github_variables" {
  description = "Repository variables the workflows read (Settings > Secrets and variables > Actions > Variables); none of them is secret."
  value = {
    AWS_REGION                  = local.region
    AWS_DEPLOY_ROLE_ARN         = aws_iam_role.deploy.arn
    TF_STATE_BUCKET             = aws_s3_bucket.this["state"].bucket
    SAM_ARTIFACTS_BUCKET        = aws_s3_bucket.this["artifacts"].bucket
    SAM_CLOUDFORMATION_ROLE_ARN = aws_iam_role.cloudformation.arn
    ECR_REPOSITORY_BOT          = aws_ecr_repository.this["bot"].name
    ECR_REPOSITORY_WORKER       = aws_ecr_repository.this["worker"].name
  }
}
