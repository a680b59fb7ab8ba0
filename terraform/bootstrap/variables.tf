variable "region" {
  type        = string
  description = "AWS region of the whole system (state bucket, image repositories, SAM stack, main configuration)."
  default     = "us-east-1"
}

variable "name" {
  type        = string
  description = "Prefix of everything this configuration creates, and of what the Polybot environments are named (<name>-<environment>)."
  default     = "polybot"
}

variable "environments" {
  type        = list(string)
  description = "Polybot environments the pipelines deploy (samconfig.toml's config-env, the main configuration's environment). Each is also the name of the GitHub environment whose jobs may assume the deploy role."
  default     = ["prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9]{1,15}$", e))])
    error_message = "At least one environment; each lower-case letters and digits, starting with a letter (it becomes part of resource names)."
  }
}

variable "github_owner" {
  type        = string
  description = "GitHub user or organisation that owns the Polybot repository."
}

variable "github_repository" {
  type        = string
  description = "Name of the Polybot repository on GitHub (without the owner)."
  default     = "polybot"
}

variable "github_refs" {
  type        = list(string)
  description = "Git refs whose workflow jobs without a GitHub environment (the image builds) may assume the deploy role. Jobs that name an environment are matched by environments instead; pull requests never get the role."
  default     = ["refs/heads/main"]
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of an existing GitHub Actions OIDC provider in the account (an account holds one per URL); empty: this configuration creates it."
  default     = ""
}

variable "state_bucket_name" {
  type        = string
  description = "Name of the bucket holding the main configuration's Terraform state; empty: <name>-tfstate-<account id>-<region>."
  default     = ""
}

variable "artifacts_bucket_name" {
  type        = string
  description = "Name of the bucket sam deploy uploads the packaged template and function code to; empty: <name>-sam-artifacts-<account id>-<region>."
  default     = ""
}

variable "state_noncurrent_version_days" {
  type        = number
  description = "Days the state bucket keeps a state file's older versions (to roll a bad apply back by hand)."
  default     = 90
}

variable "artifacts_expiry_days" {
  type        = number
  description = "Days the artifacts bucket keeps an upload; CloudFormation and Lambda keep their own copies once a deploy is done."
  default     = 30
}

variable "repositories" {
  type        = map(string)
  description = "ECR repositories by part: bot (bot/Dockerfile) and worker (inference/Dockerfile)."
  default     = { bot = "polybot-bot", worker = "polybot-worker" }

  validation {
    condition     = toset(keys(var.repositories)) == toset(["bot", "worker"])
    error_message = "Exactly two repositories: bot and worker."
  }
}

variable "keep_tagged_images" {
  type        = number
  description = "Tagged images each repository keeps (the newest); older ones expire. Keep enough to roll back to."
  default     = 30
}

variable "untagged_image_expiry_days" {
  type        = number
  description = "Days an untagged image (a layer set no tag points to any more) stays in a repository."
  default     = 7
}

variable "hosted_zone_ids" {
  type        = list(string)
  description = "Route 53 hosted zones the main configuration writes its records into; empty: any zone of the account."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource, on top of Project, Component and ManagedBy."
  default     = {}
}
