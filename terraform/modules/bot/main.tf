locals {
  # A burstable type states its credit mode: AWS's default for T3 is unlimited.
  burstable = can(regex("^t[0-9][a-z]*\\.", var.instance_type))
  user_data = templatefile("${path.module}/templates/bot_user_data.sh.tftpl", {
    bot_image          = var.bot_image
    bot_port           = var.bot_port
    region             = var.region
    state_machine_arn  = var.state_machine_arn
    telegram_secret_id = var.telegram_secret_id
    public_url         = var.public_url
    images_bucket      = var.images_bucket
    results_table      = var.results_table
    retention_days     = var.retention_days
    model              = var.model
    extra_models       = var.extra_models
    log_group          = aws_cloudwatch_log_group.bot.name
    # Longer than register-webhook's own window (bot.webhook.REGISTRATION_WINDOW_S,
    # 900 s), so the command, not the timeout, ends it and logs how.
    registration_timeout_s = 960
  })
}

resource "aws_security_group" "bot" {
  name_prefix = "${var.name}-bot-"
  description = "Polybot bot instances: webhooks from the load balancer, SSH from the bastion"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Webhooks and health checks from the load balancer"
    from_port       = var.bot_port
    to_port         = var.bot_port
    protocol        = "tcp"
    security_groups = [var.alb_security_group_id]
  }

  ingress {
    description     = "SSH from the bastion"
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [var.bastion_security_group_id]
  }

  # Telegram's Bot API, AWS APIs and the image registry are all HTTPS; HTTP for
  # the distribution's package mirrors.
  egress {
    description = "HTTPS to Telegram, AWS APIs and the image registry"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "HTTP to package mirrors"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(var.tags, { Name = "${var.name}-bot" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "bot" {
  name              = "/${var.name}/bot"
  retention_in_days = var.log_retention_days

  tags = var.tags
}

resource "aws_launch_template" "bot" {
  #checkov:skip=CKV_AWS_341:The bot runs in a container one network hop behind the host and needs IMDSv2 (tokens required) for its role credentials.
  name_prefix            = "${var.name}-bot-"
  description            = "Polybot bot"
  image_id               = var.ami_id
  instance_type          = var.instance_type
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.bot.id]
  user_data              = base64encode(local.user_data)
  ebs_optimized          = true
  update_default_version = true

  iam_instance_profile {
    name = var.instance_profile_name
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 2 hops: the bot runs in a container, one hop behind the host.
    http_put_response_hop_limit = 2
  }

  monitoring {
    enabled = var.detailed_monitoring
  }

  dynamic "credit_specification" {
    for_each = local.burstable ? [var.cpu_credits] : []
    content {
      cpu_credits = credit_specification.value
    }
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      encrypted             = true
      volume_type           = "gp3"
      volume_size           = var.root_volume_size
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-bot", Role = "polybot-bot" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-bot" })
  }

  tags = var.tags
}

# A fixed pool of instance_count (2: one per zone), as designed: the bot only
# starts workflow executions, so it does not scale. The group adds what two
# plain instances lacked: an instance that fails the load balancer's health
# check is replaced, and a new launch template version (image, settings) is
# rolled out one instance at a time while the other keeps serving.
resource "aws_autoscaling_group" "bot" {
  name_prefix               = "${var.name}-bot-"
  min_size                  = var.instance_count
  max_size                  = var.instance_count
  desired_capacity          = var.instance_count
  vpc_zone_identifier       = var.private_subnet_ids
  target_group_arns         = [var.target_group_arn]
  health_check_type         = "ELB"
  health_check_grace_period = var.health_check_grace_period
  default_instance_warmup   = var.instance_warmup
  enabled_metrics           = ["GroupInServiceInstances", "GroupDesiredCapacity"]

  launch_template {
    id      = aws_launch_template.bot.id
    version = aws_launch_template.bot.latest_version
  }

  # Terraform starts the refresh when the launch template changes and does not
  # wait for it; the deploy pipeline waits. 50 % of 2: one instance at a time.
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
      instance_warmup        = var.instance_warmup
    }
  }

  dynamic "tag" {
    for_each = merge(var.tags, { Name = "${var.name}-bot", Role = "polybot-bot" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  # Instances install Docker and pull the image at boot, through the NAT gateways.
  depends_on = [var.nat_route_ids]
}

# --- a deaf bot is noticed: metric filters over the bot's JSON log lines
# (polybot/logs.py) in its log group, and two alarms ---
#
# register-webhook (bot/webhook.py, run by every boot) ends with a line whose
# `event` says how it went; the webhook (bot/app.py) writes one line with
# event update_received per update Telegram delivers. The metric names carry
# the environment's name: a filter's metric can take no fixed dimension, and
# two environments in one account would otherwise count into one metric.
# tests/unit/bot holds each pattern to the lines the code writes.

locals {
  log_metrics = {
    "webhook-registration-failed" = {
      pattern = "{ $.event = \"webhook_registration_failed\" }"
      metric  = "${var.name}-WebhookRegistrationsFailed"
    }
    "update-received" = {
      pattern = "{ $.event = \"update_received\" }"
      metric  = "${var.name}-UpdatesReceived"
    }
  }
}

resource "aws_cloudwatch_log_metric_filter" "bot" {
  for_each = local.log_metrics

  name           = "${var.name}-${each.key}"
  log_group_name = aws_cloudwatch_log_group.bot.name
  pattern        = each.value.pattern

  metric_transformation {
    namespace = var.metric_namespace
    name      = each.value.metric
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "webhook_not_registered" {
  alarm_name          = "${var.name}-webhook-not-registered"
  alarm_description   = "A bot instance's boot gave up registering the webhook with Telegram (python -m bot register-webhook, ${var.name} bot log group, stream <instance id>-register-webhook says why; <instance id>-cloud-init holds the boot's output). Telegram may be delivering to an old address or to none."
  namespace           = var.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.bot["webhook-registration-failed"].metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No line, no failure.
  treat_missing_data = "notBreaching"
  alarm_actions      = var.alarm_actions
  ok_actions         = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "webhook_silent" {
  count = var.silence_alarm_hours > 0 ? 1 : 0

  alarm_name          = "${var.name}-webhook-silent"
  alarm_description   = "The bot's webhook has received no update from Telegram for ${var.silence_alarm_hours} hours: the webhook may not be registered, point elsewhere, or be refused (getWebhookInfo's last_error_message says). Quiet on purpose? Raise silence_alarm_hours, or 0 turns this alarm off."
  namespace           = var.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.bot["update-received"].metric_transformation[0].name
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.silence_alarm_hours
  datapoints_to_alarm = var.silence_alarm_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  # An hour without a single update has no datapoint at all: that is the silence.
  treat_missing_data = "breaching"
  alarm_actions      = var.alarm_actions
  ok_actions         = var.alarm_actions

  tags = var.tags
}
