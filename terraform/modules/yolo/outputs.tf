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
  description = "The rendered user data: how each worker installs Docker and runs the worker container with its settings."
  value       = local.user_data
}
