variable "name" {
  type        = string
  description = "Prefix for every resource name and Name tag."
  default     = "polybot"
}

variable "cidr_block" {
  type        = string
  description = "IPv4 range of the VPC; public and private subnets are /24s carved out of it."
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability Zones to spread the subnets over; empty means the region's first two."
  default     = []
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all private subnets (cheaper) instead of one per Availability Zone (survives the loss of a zone)."
  default     = false
}

variable "gateway_endpoint_services" {
  type        = list(string)
  description = "Services reached through a (free) gateway endpoint from the private subnets instead of the NAT gateways: S3 (images, ECR's image layers) and DynamoDB (results)."
  default     = ["s3", "dynamodb"]

  validation {
    condition     = alltrue([for service in var.gateway_endpoint_services : contains(["s3", "dynamodb"], service)])
    error_message = "Gateway endpoints exist for s3 and dynamodb only."
  }
}

variable "flow_logs_retention_days" {
  type        = number
  description = "Days to keep the VPC flow logs in CloudWatch Logs; 0 turns flow logs off."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Managed policy the flow logs role carries as its permissions boundary (the bootstrap's workload boundary); null for none."
  default     = null
}
