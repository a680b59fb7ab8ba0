output "bot_role_name" {
  description = "Name of the bot instances' role."
  value       = aws_iam_role.this["bot"].name
}

output "bot_role_arn" {
  description = "ARN of the bot instances' role."
  value       = aws_iam_role.this["bot"].arn
}

output "bot_instance_profile_name" {
  description = "Instance profile of the bot instances."
  value       = aws_iam_instance_profile.this["bot"].name
}

output "yolo_role_name" {
  description = "Name of the YOLO workers' role."
  value       = aws_iam_role.this["yolo"].name
}

output "yolo_role_arn" {
  description = "ARN of the YOLO workers' role."
  value       = aws_iam_role.this["yolo"].arn
}

output "yolo_instance_profile_name" {
  description = "Instance profile of the YOLO workers."
  value       = aws_iam_instance_profile.this["yolo"].name
}

output "bot_policy_json" {
  description = "The bot's inline policy document."
  value       = data.aws_iam_policy_document.bot.json
}

output "yolo_policy_json" {
  description = "The YOLO workers' inline policy document."
  value       = data.aws_iam_policy_document.yolo.json
}
