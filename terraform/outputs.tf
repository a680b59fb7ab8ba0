output "public_url" {
  description = "HTTPS address Telegram calls (the bot registers it as its webhook)."
  value       = module.load_balancer.public_url
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (the domain's alias points at it)."
  value       = module.load_balancer.alb_dns_name
}

output "bot_instance_ids" {
  description = "IDs of the two bot instances (the bot pipeline redeploys them one at a time)."
  value       = module.bot.instance_ids
}

output "bot_private_ips" {
  description = "Private addresses of the bot instances."
  value       = module.bot.private_ips
}

output "bot_user_data" {
  description = "User data the bot instances start with: Docker, then the bot container and its settings."
  value       = module.bot.user_data
}

output "yolo_autoscaling_group_name" {
  description = "Auto-scaling group of the YOLO workers (the worker pipeline starts instance refreshes on it)."
  value       = module.yolo.autoscaling_group_name
}

output "bastion_public_ip" {
  description = "Public address of the bastion."
  value       = module.bastion.public_ip
}

output "bot_role_arn" {
  description = "Role of the bot instances."
  value       = module.iam.bot_role_arn
}

output "yolo_role_arn" {
  description = "Role of the YOLO workers."
  value       = module.iam.yolo_role_arn
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}
