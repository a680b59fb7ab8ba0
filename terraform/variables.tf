variable "region" {
  type        = string
  description = "AWS region of the whole system; the SAM stack must be deployed in the same region."
  default     = "us-east-1"
}

variable "environment" {
  type        = string
  description = "Environment name (dev, prod); part of every resource name."
  default     = "dev"
}

variable "sam_stack_name" {
  type        = string
  description = "Name of the deployed SAM stack (samconfig.toml) whose Outputs this configuration reads."
  default     = "polybot-dev"
}

variable "domain_name" {
  type        = string
  description = "Name Telegram calls the bot at, e.g. bot.example.com (must be in hosted_zone_id)."
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 public hosted zone holding domain_name."
}

variable "bot_image" {
  type        = string
  description = "Full reference of the bot image (bot/Dockerfile): registry/repository:tag or @sha256:digest, never :latest; CI passes ECR's <repository>:<git commit SHA>. Null keeps the image running now (read back from the SSM parameter /polybot-<environment>/bot-image that every apply writes)."
  default     = null

  validation {
    condition     = var.bot_image == null || (can(regex(local.image_reference_pattern, var.bot_image)) && !endswith(coalesce(var.bot_image, "-"), ":latest"))
    error_message = "bot_image must be a full reference with a tag other than latest, or a digest: <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>."
  }
}

variable "worker_image" {
  type        = string
  description = "Full reference of the YOLO worker image (inference/Dockerfile): registry/repository:tag or @sha256:digest, never :latest; CI passes ECR's <repository>:<git commit SHA>. Null keeps the image running now (read back from the SSM parameter /polybot-<environment>/worker-image that every apply writes)."
  default     = null

  validation {
    condition     = var.worker_image == null || (can(regex(local.image_reference_pattern, var.worker_image)) && !endswith(coalesce(var.worker_image, "-"), ":latest"))
    error_message = "worker_image must be a full reference with a tag other than latest, or a digest: <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>."
  }
}

variable "model" {
  type        = string
  description = "YOLO weights the workers load (POLYBOT_MODEL): empty for the weights baked into the worker image at build time and exported there for the backend (no download at run time); any other must be a weights file the image build baked in, since the torch-free worker image cannot export or download one."
  default     = ""
}

variable "extra_models" {
  type        = string
  description = "Further weights files in the worker image's model folder (POLYBOT_EXTRA_MODELS, comma-separated) a chat may choose in /settings besides the production model; an .onnx file runs on OpenVINO as it is, other weights through Ultralytics (which the torch-free worker image lacks: prefer .onnx). Empty: the production model only. The bot gets the same list."
  default     = ""
}

variable "ami_id" {
  type        = string
  description = "AMI of every instance (bot, workers, bastion): an Amazon Linux 2023 x86_64 AMI ID, chosen on purpose. A new value rolls both groups and replaces the bastion, so it changes only when this does; the deploy workflow passes the GitHub environment's POLYBOT_AMI_ID (terraform/README.md, section The AMI, says how to pick and roll one)."

  validation {
    condition     = can(regex("^ami-([0-9a-f]{8}|[0-9a-f]{17})$", var.ami_id))
    error_message = "ami_id must be an AMI ID (ami- and 8 or 17 hexadecimal digits), not a lookup such as an SSM parameter: the AMI changes only when this value does."
  }
}

variable "vpc_cidr_block" {
  type        = string
  description = "IPv4 range of the VPC."
  default     = "10.0.0.0/16"
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway instead of one per Availability Zone: cheaper, but private subnets lose the internet with its zone."
  default     = false
}

variable "bot_instance_type" {
  type        = string
  description = "EC2 instance type of the two bot instances."
  default     = "t3.micro"
}

variable "yolo_instance_type" {
  type        = string
  description = "EC2 instance type of the YOLO workers: c7i.large, fixed performance (no CPU credits to run out or to bill as surplus), chosen from the measured rate in docs/performance.md. A burstable type runs in standard credit mode (modules/yolo cpu_credits)."
  default     = "c7i.large"
}

variable "bastion_instance_type" {
  type        = string
  description = "EC2 instance type of the bastion."
  default     = "t3.nano"
}

variable "yolo_min_size" {
  type        = number
  description = "Fewest YOLO workers."
  default     = 2
}

variable "yolo_max_size" {
  type        = number
  description = "Most YOLO workers."
  default     = 6
}

variable "yolo_desired_capacity" {
  type        = number
  description = "YOLO workers at creation."
  default     = 2
}

variable "backlog_per_instance_target" {
  type        = number
  description = "Images waiting per worker that target-tracking scaling holds the YOLO group at."
  default     = 10
}

variable "allowed_ssh_cidr_blocks" {
  type        = list(string)
  description = "Addresses allowed to SSH to the bastion; empty means none (use Session Manager)."
  default     = []
}

variable "key_name" {
  type        = string
  description = "EC2 key pair put on every instance; null for none."
  default     = null
}

variable "wait_for_certificate_validation" {
  type        = bool
  description = "Wait for ACM to issue the certificate before creating the HTTPS listener. Keep true on AWS."
  default     = true
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Deletion protection of the load balancer."
  default     = true
}

variable "alb_access_logs_bucket" {
  type        = string
  description = "S3 bucket for the load balancer's access logs; empty turns them off."
  default     = ""
}

variable "alarm_actions" {
  type        = list(string)
  description = "Extra ARNs (e.g. SNS topics) the health alarms notify, besides the SAM stack's AlarmTopicArn output where it has one."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource, on top of Project, Environment and ManagedBy."
  default     = {}
}

variable "detailed_monitoring" {
  type        = bool
  description = "One-minute CloudWatch metrics for the bot instances and the bastion (the YOLO workers always have them: their CPU alarms scale the group)."
  default     = true
}

variable "container_repository_arns" {
  type        = list(string)
  description = "Extra ECR repositories the instances may pull from. Those of bot_image and worker_image, when they are ECR references, are derived from them and need not be listed."
  default     = []
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the bot and worker containers' output."
  default     = 30
}

variable "session_manager_access" {
  type        = bool
  description = "Let operators open Session Manager shells on the bot and worker instances; off: SSH through the bastion only."
  default     = false
}

variable "webhook_silence_alarm_hours" {
  type        = number
  description = "Hours without a single update received by the bot's webhook after which the webhook-silent alarm fires (a deaf bot: webhook not registered, or pointing elsewhere). 0 turns it off, for an environment nobody writes to; at most 24."
  default     = 12
}

variable "permissions_boundary_name" {
  type        = string
  description = "Name of the managed policy every role here carries as its permissions boundary: the bootstrap's workload boundary (output workload_boundary_name), without which the deploy role may not create a role."
  default     = "polybot-workload-boundary"
}
