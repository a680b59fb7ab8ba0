variable "name" {
  type        = string
  description = "Prefix for every resource name and Name tag."
  default     = "polybot"
}

variable "vpc_id" {
  type        = string
  description = "VPC the workers live in."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, in at least two Availability Zones, for the auto-scaling group."
}

variable "nat_route_ids" {
  type        = list(string)
  description = "Routes from the private subnets to the NAT gateways (network module output); the group launches workers only once they exist, since each boot installs Docker and pulls the image through them."
  default     = []
}

variable "health_check_grace_period" {
  type        = number
  description = "Seconds after launch before a worker's health counts: the group's, and the container health each worker reports (boot, image pull and the container's own start period fit in it)."
  default     = 600
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the worker containers' output."
  default     = 30
}

variable "ami_id" {
  type        = string
  description = "AMI of the workers (Amazon Linux 2023 or another image with dnf/yum and Docker available)."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the workers (the model runs on the CPU). c7i.large: fixed performance, no CPU credits, and the AVX-512 VNNI and BF16 the measured rate and agreement were taken with (docs/performance.md, section The workers' instance type)."
  default     = "c7i.large"
}

variable "cpu_credits" {
  type        = string
  description = "CPU credit mode where instance_type is burstable (t2, t3, t3a, t4g; ignored otherwise). standard: a busy worker slows to its baseline when its credits run out, never billed beyond the hourly price (T3 standard instances get no launch credits, so a new worker starts at its baseline). unlimited bills sustained inference as surplus at $0.05 per vCPU-hour."
  default     = "standard"

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
  description = "Instance profile giving the workers their role (iam module output)."
}

variable "bastion_security_group_id" {
  type        = string
  description = "Security group of the bastion: the only source of SSH."
}

variable "min_size" {
  type        = number
  description = "Fewest workers, one per Availability Zone at least."
  default     = 2
}

variable "max_size" {
  type        = number
  description = "Most workers."
  default     = 6
}

variable "desired_capacity" {
  type        = number
  description = "Workers at creation; scaling policies move it between min_size and max_size."
  default     = 2
}

variable "worker_image" {
  type        = string
  description = "Container image of the YOLO worker, e.g. docker.io/example/polybot-yolo:1.2.3."
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

variable "region" {
  type        = string
  description = "AWS region the workers talk to (AWS_REGION)."
}

variable "detection_queue_url" {
  type        = string
  description = "URL of the queue the workers serve (POLYBOT_DETECTION_QUEUE_URL)."
}

variable "detection_queue_arn" {
  type        = string
  description = "ARN of the same queue; its name is the dimension of the backlog metric."
}

variable "scale_out_cpu_percent" {
  type        = number
  description = "Average CPU of the group at or above which one worker is added (step scaling)."
  default     = 70
}

variable "scale_in_cpu_percent" {
  type        = number
  description = "Average CPU of the group at or below which one worker is removed (step scaling)."
  default     = 30
}

variable "backlog_per_instance_target" {
  type        = number
  description = "Visible messages per in-service worker that target tracking holds the group at (about the images one worker handles within the acceptable wait)."
  default     = 10
}

variable "root_volume_size" {
  type        = number
  description = "Size of the encrypted root volume in GiB (the worker image carries the model runtime)."
  default     = 30
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (e.g. SNS topics) notified when the group's health alarm fires or clears."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
