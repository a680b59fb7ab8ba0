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
  description = "HTTPS address Telegram calls (the bot's POLYBOT_PUBLIC_URL), known only once its name resolves to the load balancer and the HTTPS listener serves it: whatever registers it with Telegram waits for both."
  value       = "https://${var.domain_name}:${var.listener_port}"

  # Each bot instance calls setWebhook with this address as it boots; Telegram
  # resolves the name and connects at once, and refuses the webhook (400 "bad
  # webhook: Failed to resolve host") while either is missing. So the address
  # is handed out only after the alias record and the listener exist.
  depends_on = [aws_route53_record.bot, aws_lb_listener.https]
}
