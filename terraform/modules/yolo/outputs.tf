output "autoscaling_group_name" {
  description = "Name of the workers' auto-scaling group (CI starts instance refreshes on it)."
  value       = aws_autoscaling_group.yolo.name
}

output "autoscaling_group_arn" {
  description = "ARN of the workers' auto-scaling group."
  value       = aws_autoscaling_group.yolo.arn
}

output "launch_template_id" {
  description = "ID of the workers' launch template."
  value       = aws_launch_template.yolo.id
}

output "security_group_id" {
  description = "Security group of the workers."
  value       = aws_security_group.yolo.id
}

output "user_data" {
  description = "The rendered user data: how each worker reports its container's health, installs Docker and runs the worker container with its settings."
  value       = local.user_data
}

output "autoscaling_group_name_prefix" {
  description = "What the group's name starts with (it is a name_prefix): the workers' role may set instance health only in groups named so."
  value       = local.group_name_prefix
}

output "log_group_name" {
  description = "CloudWatch Logs group of the worker containers (one stream per instance ID)."
  value       = aws_cloudwatch_log_group.yolo.name
}
