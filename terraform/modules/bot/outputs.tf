output "instance_ids" {
  description = "IDs of the bot instances (rolling redeploys go through them one at a time)."
  value       = aws_instance.bot[*].id
}

output "private_ips" {
  description = "Private addresses of the bot instances (reach them through the bastion)."
  value       = aws_instance.bot[*].private_ip
}

output "security_group_id" {
  description = "Security group of the bot instances."
  value       = aws_security_group.bot.id
}

output "user_data" {
  description = "The rendered user data: how each instance installs Docker and runs the bot container with its settings."
  value       = local.user_data
}
