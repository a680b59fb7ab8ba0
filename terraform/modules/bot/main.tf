locals {
  user_data = templatefile("${path.module}/templates/bot_user_data.sh.tftpl", {
    bot_image          = var.bot_image
    bot_port           = var.bot_port
    region             = var.region
    state_machine_arn  = var.state_machine_arn
    telegram_secret_id = var.telegram_secret_id
    public_url         = var.public_url
    images_bucket      = var.images_bucket
    results_table      = var.results_table
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

resource "aws_instance" "bot" {
  count = var.instance_count

  ami                         = var.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.private_subnet_ids[count.index % length(var.private_subnet_ids)]
  vpc_security_group_ids      = [aws_security_group.bot.id]
  iam_instance_profile        = var.instance_profile_name
  key_name                    = var.key_name
  associate_public_ip_address = false
  monitoring                  = var.detailed_monitoring
  ebs_optimized               = true
  user_data                   = local.user_data
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 2 hops: the bot runs in a container, one hop behind the host.
    http_put_response_hop_limit = 2
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = var.root_volume_size
  }

  tags = merge(var.tags, { Name = "${var.name}-bot-${count.index + 1}", Role = "polybot-bot" })
}

resource "aws_lb_target_group_attachment" "bot" {
  count = var.instance_count

  target_group_arn = var.target_group_arn
  target_id        = aws_instance.bot[count.index].id
  port             = var.bot_port
}
