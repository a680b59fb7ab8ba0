locals {
  queue_name = element(split(":", var.detection_queue_arn), 5)
  # The group's name starts with this; the workers' role may report health only
  # to groups named so (iam module, worker_group_name_prefix).
  group_name_prefix = "${var.name}-yolo-"
  # A burstable type states its credit mode: AWS's default for T3 is unlimited.
  burstable = can(regex("^t[0-9][a-z]*\\.", var.instance_type))
  user_data = templatefile("${path.module}/templates/worker_user_data.sh.tftpl", {
    worker_image              = var.worker_image
    region                    = var.region
    detection_queue_url       = var.detection_queue_url
    model                     = var.model
    extra_models              = var.extra_models
    log_group                 = aws_cloudwatch_log_group.yolo.name
    health_check_grace_period = var.health_check_grace_period
  })
}

resource "aws_cloudwatch_log_group" "yolo" {
  name              = "/${var.name}/worker"
  retention_in_days = var.log_retention_days

  tags = var.tags
}

resource "aws_security_group" "yolo" {
  name_prefix = "${var.name}-yolo-"
  description = "Polybot YOLO workers: SSH from the bastion only; they pull work, nothing calls them"
  vpc_id      = var.vpc_id

  ingress {
    description     = "SSH from the bastion"
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [var.bastion_security_group_id]
  }

  egress {
    description = "HTTPS to AWS APIs and the image registry"
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

  tags = merge(var.tags, { Name = "${var.name}-yolo" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_launch_template" "yolo" {
  #checkov:skip=CKV_AWS_341:The worker runs in a container one network hop behind the host and needs IMDSv2 (tokens required) for its role credentials.
  name_prefix            = "${var.name}-yolo-"
  description            = "Polybot YOLO worker"
  image_id               = var.ami_id
  instance_type          = var.instance_type
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.yolo.id]
  user_data              = base64encode(local.user_data)
  ebs_optimized          = true
  update_default_version = true

  iam_instance_profile {
    name = var.instance_profile_name
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 2 hops: the worker runs in a container, one hop behind the host.
    http_put_response_hop_limit = 2
  }

  monitoring {
    enabled = true
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
    tags          = merge(var.tags, { Name = "${var.name}-yolo", Role = "polybot-yolo" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-yolo" })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "yolo" {
  name_prefix         = local.group_name_prefix
  min_size            = var.min_size
  max_size            = var.max_size
  desired_capacity    = var.desired_capacity
  vpc_zone_identifier = var.private_subnet_ids
  # EC2 status checks, plus what each worker reports about its container
  # (polybot-report-health in the user data: set-instance-health Unhealthy).
  health_check_type         = "EC2"
  health_check_grace_period = var.health_check_grace_period
  default_instance_warmup   = 300
  # GroupInServiceInstances is the denominator of the backlog-per-instance metric.
  enabled_metrics = ["GroupInServiceInstances", "GroupDesiredCapacity", "GroupMinSize", "GroupMaxSize"]

  launch_template {
    id      = aws_launch_template.yolo.id
    version = aws_launch_template.yolo.latest_version
  }

  # A new launch template version (image, model, settings) replaces the workers
  # half at a time; CI starts the same refresh after pushing a new image tag.
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
      instance_warmup        = 300
    }
  }

  dynamic "tag" {
    for_each = merge(var.tags, { Name = "${var.name}-yolo" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  # Scaling policies own the capacity once the group exists.
  lifecycle {
    ignore_changes = [desired_capacity]
  }

  # Workers install Docker and pull the image at boot, through the NAT gateways.
  depends_on = [var.nat_route_ids]
}

# --- step scaling on CPU, as in the original design ---

resource "aws_autoscaling_policy" "cpu_scale_out" {
  name                      = "${var.name}-yolo-cpu-scale-out"
  autoscaling_group_name    = aws_autoscaling_group.yolo.name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Average"
  estimated_instance_warmup = 300

  step_adjustment {
    scaling_adjustment          = 1
    metric_interval_lower_bound = 0
  }
}

resource "aws_autoscaling_policy" "cpu_scale_in" {
  name                    = "${var.name}-yolo-cpu-scale-in"
  autoscaling_group_name  = aws_autoscaling_group.yolo.name
  policy_type             = "StepScaling"
  adjustment_type         = "ChangeInCapacity"
  metric_aggregation_type = "Average"

  step_adjustment {
    scaling_adjustment          = -1
    metric_interval_upper_bound = 0
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name          = "${var.name}-yolo-cpu-high"
  alarm_description   = "Workers average ${var.scale_out_cpu_percent}% CPU or more: add one."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.yolo.name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.scale_out_cpu_percent
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = [aws_autoscaling_policy.cpu_scale_out.arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "cpu_low" {
  alarm_name          = "${var.name}-yolo-cpu-low"
  alarm_description   = "Workers average ${var.scale_in_cpu_percent}% CPU or less: remove one."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.yolo.name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.scale_in_cpu_percent
  comparison_operator = "LessThanOrEqualToThreshold"
  alarm_actions       = [aws_autoscaling_policy.cpu_scale_in.arn]

  tags = var.tags
}

# --- target tracking on the queue backlog per worker: a queue-fed pool grows
# with the work waiting, not only with how busy the current workers are ---

resource "aws_autoscaling_policy" "backlog_per_instance" {
  name                   = "${var.name}-yolo-backlog-per-instance"
  autoscaling_group_name = aws_autoscaling_group.yolo.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.backlog_per_instance_target

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "Images waiting in the detection queue"
        return_data = false
        metric_stat {
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = local.queue_name
            }
          }
          stat = "Sum"
        }
      }

      metrics {
        id          = "in_service"
        label       = "Workers in service"
        return_data = false
        metric_stat {
          metric {
            namespace   = "AWS/AutoScaling"
            metric_name = "GroupInServiceInstances"
            dimensions {
              name  = "AutoScalingGroupName"
              value = aws_autoscaling_group.yolo.name
            }
          }
          stat = "Average"
        }
      }

      metrics {
        id          = "backlog_per_instance"
        label       = "Images waiting per worker"
        expression  = "visible / in_service"
        return_data = true
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "in_service_low" {
  alarm_name          = "${var.name}-yolo-capacity-low"
  alarm_description   = "Fewer workers in service than the group's minimum: images wait longer and one zone may have none."
  namespace           = "AWS/AutoScaling"
  metric_name         = "GroupInServiceInstances"
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.yolo.name }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 10
  threshold           = var.min_size
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
