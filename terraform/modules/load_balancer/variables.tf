variable "name" {
  type        = string
  description = "Prefix for every resource name and Name tag (the ALB name allows 32 characters)."
  default     = "polybot"
}

variable "vpc_id" {
  type        = string
  description = "VPC the load balancer and its target group live in."
}

variable "vpc_cidr_block" {
  type        = string
  description = "IPv4 range of the VPC: the only place the load balancer sends traffic to."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets, in at least two Availability Zones, for the load balancer."
}

variable "domain_name" {
  type        = string
  description = "Name Telegram calls the bot at, e.g. bot.example.com; gets the certificate and an alias record."
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 public hosted zone that holds domain_name (validation and alias records go there)."
}

variable "listener_port" {
  type        = number
  description = "HTTPS port of the listener; Telegram sends webhooks only to 443, 80, 88 or 8443."
  default     = 8443

  validation {
    condition     = contains([443, 80, 88, 8443], var.listener_port)
    error_message = "Telegram delivers webhooks only to ports 443, 80, 88 or 8443."
  }
}

variable "target_port" {
  type        = number
  description = "Port the bot listens on (plain HTTP inside the VPC; TLS ends at the load balancer)."
  default     = 8080
}

variable "health_check_path" {
  type        = string
  description = "Path of the bot's health check."
  default     = "/healthz"
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener (TLS 1.3 and 1.2 only)."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "ingress_cidr_blocks" {
  type        = list(string)
  description = "Where webhooks may come from: Telegram's published webhook source ranges by default."
  default     = ["149.154.160.0/20", "91.108.4.0/22"]
}

variable "wait_for_certificate_validation" {
  type        = bool
  description = "Wait until ACM has issued the certificate before creating the listener. Turn off only where nothing issues it (an emulator)."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the load balancer until this is turned off."
  default     = true
}

variable "access_logs_bucket" {
  type        = string
  description = "S3 bucket for the load balancer's access logs; empty turns access logs off."
  default     = ""
}

variable "access_logs_prefix" {
  type        = string
  description = "Key prefix of the access logs in access_logs_bucket."
  default     = "alb"
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (e.g. SNS topics) notified when an alarm of the load balancer fires or clears."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
