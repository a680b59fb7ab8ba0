resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Polybot load balancer: HTTPS webhooks in, HTTP to the bot instances out"
  vpc_id      = var.vpc_id

  ingress {
    description = "Telegram webhooks over HTTPS"
    from_port   = var.listener_port
    to_port     = var.listener_port
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  egress {
    description = "Forwarded requests and health checks to the bot instances"
    from_port   = var.target_port
    to_port     = var.target_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb" "this" {
  name                       = "${var.name}-alb"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == "" ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.access_logs_prefix
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "bot" {
  name                 = "${var.name}-bot"
  port                 = var.target_port
  protocol             = "HTTP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    protocol            = "HTTP"
    port                = "traffic-port"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_acm_certificate" "bot" {
  domain_name       = var.domain_name
  validation_method = "DNS"

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = {
    for option in aws_acm_certificate.bot.domain_validation_options : option.domain_name => {
      name   = option.resource_record_name
      type   = option.resource_record_type
      record = option.resource_record_value
    }
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "bot" {
  count = var.wait_for_certificate_validation ? 1 : 0

  certificate_arn         = aws_acm_certificate.bot.arn
  validation_record_fqdns = [for record in aws_route53_record.certificate_validation : record.fqdn]
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = var.listener_port
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  # Through the validation resource where there is one, so the listener waits
  # for an issued certificate.
  certificate_arn = var.wait_for_certificate_validation ? aws_acm_certificate_validation.bot[0].certificate_arn : aws_acm_certificate.bot.arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.bot.arn
  }

  tags = var.tags
}

resource "aws_route53_record" "bot" {
  zone_id = var.hosted_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

locals {
  # What the bot's webhook traffic looks like from the load balancer: each alarm
  # is one metric crossing its threshold.
  health_alarms = {
    "alb-5xx" = {
      description        = "The load balancer itself answered webhooks with 5xx (no healthy bot, or a bot that cannot be reached)."
      metric_name        = "HTTPCode_ELB_5XX_Count"
      dimensions         = { LoadBalancer = aws_lb.this.arn_suffix }
      statistic          = "Sum"
      evaluation_periods = 5
      threshold          = 5
    }
    "bot-5xx" = {
      description        = "The bot answered webhooks with 5xx; Telegram redelivers them, so a lasting rate means the bot is failing."
      metric_name        = "HTTPCode_Target_5XX_Count"
      dimensions         = { LoadBalancer = aws_lb.this.arn_suffix, TargetGroup = aws_lb_target_group.bot.arn_suffix }
      statistic          = "Sum"
      evaluation_periods = 5
      threshold          = 5
    }
    "bot-unhealthy" = {
      description = "A bot instance has failed its /healthz check for 6 minutes: the bot runs without its second zone, and its auto-scaling group has not managed to replace it."
      metric_name = "UnHealthyHostCount"
      dimensions  = { LoadBalancer = aws_lb.this.arn_suffix, TargetGroup = aws_lb_target_group.bot.arn_suffix }
      statistic   = "Maximum"
      # Longer than a new instance takes from registration to a healthy /healthz
      # (the group registers it while it still boots), so a rolling refresh
      # does not raise it.
      evaluation_periods = 6
      threshold          = 1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "health" {
  for_each = local.health_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/ApplicationELB"
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = each.value.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
