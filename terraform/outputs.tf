output "public_url" {
  description = "HTTPS address Telegram calls (each bot instance registers it as the webhook when it boots)."
  value       = module.load_balancer.public_url
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (the domain's alias points at it)."
  value       = module.load_balancer.alb_dns_name
}

output "bot_autoscaling_group_name" {
  description = "Auto-scaling group of the two bot instances (the deploy pipeline waits for its instance refreshes)."
  value       = module.bot.autoscaling_group_name
}

output "bot_user_data" {
  description = "User data the bot instances start with: Docker, the bot container and its settings, then the webhook registration."
  value       = module.bot.user_data
}

output "yolo_autoscaling_group_name" {
  description = "Auto-scaling group of the YOLO workers (the deploy pipeline waits for its instance refreshes)."
  value       = module.yolo.autoscaling_group_name
}

output "yolo_user_data" {
  description = "User data the workers start with: the container health reporter, Docker, then the worker container and its settings."
  value       = module.yolo.user_data
}

output "bot_image" {
  description = "Image reference the bot instances run (also in the SSM parameter image_parameter_names.bot)."
  value       = local.images["bot"]
}

output "worker_image" {
  description = "Image reference the workers run (also in the SSM parameter image_parameter_names.worker)."
  value       = local.images["worker"]
}

output "image_parameter_names" {
  description = "SSM parameters holding the deployed image references, by part (bot, worker)."
  value       = local.image_parameter_names
}

output "log_group_names" {
  description = "CloudWatch Logs groups of the containers, by part (bot, worker); one stream per instance ID."
  value       = { bot = module.bot.log_group_name, worker = module.yolo.log_group_name }
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
