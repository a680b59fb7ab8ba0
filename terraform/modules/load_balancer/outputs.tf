output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_dns_name" {
  description = "DNS name AWS gave the load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_security_group_id" {
  description = "Security group of the load balancer; the bot instances accept traffic only from it."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "Target group the bot instances register in."
  value       = aws_lb_target_group.bot.arn
}

output "listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "certificate_arn" {
  description = "ARN of the ACM certificate for domain_name."
  value       = aws_acm_certificate.bot.arn
}

output "public_url" {
  description = "HTTPS address Telegram calls (the bot's POLYBOT_PUBLIC_URL)."
  value       = "https://${var.domain_name}:${var.listener_port}"
}
