variable "name" {
  type        = string
  description = "Prefix for the roles and instance profiles."
  default     = "polybot"
}

variable "state_machine_arn" {
  type        = string
  description = "ARN of the image pipeline state machine (SAM output ImagePipelineArn): the bot starts executions of it, the workers report task results to it."
}

variable "telegram_secret_arn" {
  type        = string
  description = "ARN of the Secrets Manager secret with the bot token and webhook secret (SAM output TelegramSecretArn)."
}

variable "detection_queue_arn" {
  type        = string
  description = "ARN of the SQS queue the YOLO workers serve (SAM output DetectionQueueArn)."
}

variable "images_bucket_arn" {
  type        = string
  description = "ARN of the S3 bucket with the original and annotated images."
}

variable "results_table_arn" {
  type        = string
  description = "ARN of the DynamoDB results table (SAM output ResultsTableArn); the bot keeps its chats' items in it and queries its ByChat index."
}

variable "originals_prefix" {
  type        = string
  description = "Key prefix of the originals in the images bucket, which the workers read and the bot crops objects from (polybot/naming.py)."
  default     = "originals/"
}

variable "annotated_prefix" {
  type        = string
  description = "Key prefix of the annotated images, which the workers write (polybot/naming.py)."
  default     = "annotated/"
}

variable "kms_key_arns" {
  type        = list(string)
  description = "Customer-managed KMS keys that encrypt the queue, bucket or secret, if any; the roles may decrypt with them. Empty where AWS-managed keys are used."
  default     = []
}

variable "container_repository_arns" {
  type        = list(string)
  description = "ECR repositories the bot and worker images are pulled from; empty when the images live in a public registry."
  default     = []
}

variable "bot_log_group_name" {
  type        = string
  description = "CloudWatch Logs group the bot containers write to (bot module output); the bot role may create streams and put events there only."
}

variable "worker_log_group_name" {
  type        = string
  description = "CloudWatch Logs group the worker containers write to (yolo module output); the workers' role may create streams and put events there only."
}

variable "worker_group_name_prefix" {
  type        = string
  description = "What the workers' auto-scaling group name starts with (yolo module output); the workers may mark their own instance Unhealthy only in groups named so."
}

variable "session_manager_access" {
  type        = bool
  description = "Let operators open Session Manager shells on the instances (ssm:UpdateInstanceInformation and the ssmmessages channels). Off: SSH through the bastion only."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Managed policy both roles carry as their permissions boundary (the bootstrap's workload boundary); null for none."
  default     = null
}
