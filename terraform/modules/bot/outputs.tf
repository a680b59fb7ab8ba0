output "autoscaling_group_name" {
  description = "Name of the bot instances' auto-scaling group (the deploy pipeline waits for its instance refreshes)."
  value       = aws_autoscaling_group.bot.name
}

output "autoscaling_group_arn" {
  description = "ARN of the bot instances' auto-scaling group."
  value       = aws_autoscaling_group.bot.arn
}

output "launch_template_id" {
  description = "ID of the bot instances' launch template."
  value       = aws_launch_template.bot.id
}

output "log_group_name" {
  description = "CloudWatch Logs group of the bot containers (one stream per instance ID)."
  value       = aws_cloudwatch_log_group.bot.name
}

output "security_group_id" {
  description = "Security group of the bot instances."
  value       = aws_security_group.bot.id
}

output "user_data" {
  description = "The rendered user data: how each instance installs Docker, runs the bot container with its settings and registers the webhook."
  value       = local.user_data
}
