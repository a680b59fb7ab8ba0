variable "name" {
  type        = string
  description = "Prefix for every resource name and Name tag."
  default     = "polybot"
}

variable "vpc_id" {
  type        = string
  description = "VPC the bastion lives in."
}

variable "public_subnet_id" {
  type        = string
  description = "Public subnet of the bastion."
}

variable "ami_id" {
  type        = string
  description = "AMI of the bastion."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the bastion."
  default     = "t3.nano"
}

variable "cpu_credits" {
  type        = string
  description = "CPU credit mode where instance_type is burstable (t2, t3, t3a, t4g; ignored otherwise). standard: the bastion is an SSH hop that idles, so it is never billed beyond its hourly price."
  default     = "standard"

  validation {
    condition     = contains(["standard", "unlimited"], var.cpu_credits)
    error_message = "cpu_credits is standard or unlimited."
  }
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH to the bastion; null for none (use Session Manager)."
  default     = null
}

variable "instance_profile_name" {
  type        = string
  description = "Instance profile of the bastion (e.g. for Session Manager); null for none."
  default     = null
}

variable "allowed_ssh_cidr_blocks" {
  type        = list(string)
  description = "The only addresses SSH to the bastion is accepted from (e.g. the office's /32). Empty: no SSH at all."
  default     = []

  validation {
    condition     = !contains(var.allowed_ssh_cidr_blocks, "0.0.0.0/0")
    error_message = "SSH from the whole internet is not allowed; name the addresses."
  }
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
