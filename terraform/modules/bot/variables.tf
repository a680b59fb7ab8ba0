variable "name" {
  type        = string
  description = "Prefix for every resource name and Name tag."
  default     = "polybot"
}

variable "vpc_id" {
  type        = string
  description = "VPC the instances live in."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, one per Availability Zone; the group spreads the instances over them."
}

variable "nat_route_ids" {
  type        = list(string)
  description = "Routes from the private subnets to the NAT gateways (network module output); the group launches instances only once they exist, since each boot installs Docker and pulls the image through them."
  default     = []
}

variable "instance_count" {
  type        = number
  description = "Bot instances: the group's fixed size (no scaling, as designed: the bot only enqueues work). 2, one per zone, keeps one serving while the other is replaced."
  default     = 2

  validation {
    condition     = var.instance_count >= 2
    error_message = "At least 2: a rolling refresh replaces one instance while another serves."
  }
}

variable "health_check_grace_period" {
  type        = number
  description = "Seconds after launch before the group acts on the load balancer's health check (Docker install, image pull and start fit in it)."
  default     = 300
}

variable "instance_warmup" {
  type        = number
  description = "Seconds a new instance gets before a rolling refresh counts it and moves on to the next; longer than boot to a healthy /healthz."
  default     = 300
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the bot containers' output."
  default     = 30
}

variable "ami_id" {
  type        = string
  description = "AMI of the instances (Amazon Linux 2023 or another image with dnf/yum and Docker available)."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the bot instances."
  default     = "t3.micro"
}

variable "cpu_credits" {
  type        = string
  description = "CPU credit mode where instance_type is burstable (t2, t3, t3a, t4g; ignored otherwise). unlimited: each boot (Docker install, image pull) bursts above the baseline, and a T3 in standard mode gets no launch credits, so it would boot at 10 % of its vCPUs and might not pass its health check in time; the bot idles far below its baseline afterwards, which repays the boot's credits within the day at no charge."
  default     = "unlimited"

  validation {
    condition     = contains(["standard", "unlimited"], var.cpu_credits)
    error_message = "cpu_credits is standard or unlimited."
  }
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH through the bastion; null for none (use Session Manager)."
  default     = null
}

variable "instance_profile_name" {
  type        = string
  description = "Instance profile giving the bot its role (iam module output)."
}

variable "alb_security_group_id" {
  type        = string
  description = "Security group of the load balancer: the only source of traffic to the bot port."
}

variable "bastion_security_group_id" {
  type        = string
  description = "Security group of the bastion: the only source of SSH."
}

variable "target_group_arn" {
  type        = string
  description = "Target group the instances register in."
}

variable "bot_port" {
  type        = number
  description = "Port the bot container listens on (POLYBOT_BOT_PORT), published on the host."
  default     = 8080
}

variable "bot_image" {
  type        = string
  description = "Container image of the bot, e.g. docker.io/example/polybot-bot:1.2.3."
}

variable "region" {
  type        = string
  description = "AWS region the bot talks to (AWS_REGION)."
}

variable "state_machine_arn" {
  type        = string
  description = "Image pipeline state machine (POLYBOT_STATE_MACHINE_ARN)."
}

variable "telegram_secret_id" {
  type        = string
  description = "Secret with the bot token and webhook secret (POLYBOT_TELEGRAM_SECRET_ID)."
}

variable "public_url" {
  type        = string
  description = "HTTPS address Telegram calls, e.g. https://bot.example.com:8443 (POLYBOT_PUBLIC_URL)."
}

variable "images_bucket" {
  type        = string
  description = "Images bucket name (POLYBOT_IMAGES_BUCKET)."
}

variable "results_table" {
  type        = string
  description = "Results table name (POLYBOT_RESULTS_TABLE)."
}

variable "retention_days" {
  type        = number
  description = "Days everything kept of a chat lives (POLYBOT_RETENTION_DAYS): the serverless stack's RetentionDays output."
  default     = 30

  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number of days, at least 1."
  }
}

variable "root_volume_size" {
  type        = number
  description = "Size of the encrypted root volume in GiB."
  default     = 20
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}

variable "detailed_monitoring" {
  type        = bool
  description = "One-minute CloudWatch metrics for the instance (billed per instance)."
  default     = true
}

variable "model" {
  type        = string
  description = "POLYBOT_MODEL, the same as the workers': the bot names it in each photo's request (the chat's default model), and the workers refuse a model they do not offer. Empty: the default in polybot/settings.py."
  default     = ""
}

variable "extra_models" {
  type        = string
  description = "POLYBOT_EXTRA_MODELS, the same as the workers': the models /settings offers besides the production one."
  default     = ""
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (e.g. SNS topics) notified when the webhook alarms (registration failed, nothing received) fire or clear."
  default     = []
}

variable "metric_namespace" {
  type        = string
  description = "CloudWatch namespace of the metrics counted from the bot's log lines (the SAM stack's are in Polybot too)."
  default     = "Polybot"
}

variable "silence_alarm_hours" {
  type        = number
  description = "Hours without a single update received by the webhook after which the webhook-silent alarm fires (missing data counts as silence). 0 turns the alarm off, for an environment nobody writes to. CloudWatch evaluates at most one day."
  default     = 12

  validation {
    condition     = var.silence_alarm_hours >= 0 && var.silence_alarm_hours <= 24 && floor(var.silence_alarm_hours) == var.silence_alarm_hours
    error_message = "silence_alarm_hours is a whole number of hours from 0 (off) to 24 (an alarm evaluates at most one day)."
  }
}
