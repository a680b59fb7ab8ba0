resource "aws_security_group" "bastion" {
  name_prefix = "${var.name}-bastion-"
  description = "Polybot bastion: SSH from the allowed addresses only"
  vpc_id      = var.vpc_id

  dynamic "ingress" {
    for_each = length(var.allowed_ssh_cidr_blocks) > 0 ? [1] : []
    content {
      description = "SSH from the allowed addresses"
      from_port   = 22
      to_port     = 22
      protocol    = "tcp"
      cidr_blocks = var.allowed_ssh_cidr_blocks
    }
  }

  egress {
    description = "SSH on to the instances in the VPC"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }

  egress {
    description = "HTTPS for updates and Session Manager"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(var.tags, { Name = "${var.name}-bastion" })

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

resource "aws_instance" "bastion" {
  #checkov:skip=CKV_AWS_88:The bastion is the one host meant to be reached from outside: port 22 only, from var.allowed_ssh_cidr_blocks.
  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.public_subnet_id
  vpc_security_group_ids = [aws_security_group.bastion.id]
  key_name               = var.key_name
  iam_instance_profile   = var.instance_profile_name
  # The one instance reachable from outside, and only on 22 from the allowed addresses.
  associate_public_ip_address = true
  monitoring                  = var.detailed_monitoring
  ebs_optimized               = true

  # A burstable type states its credit mode: AWS's default for T3 is unlimited.
  dynamic "credit_specification" {
    for_each = can(regex("^t[0-9][a-z]*\\.", var.instance_type)) ? [var.cpu_credits] : []
    content {
      cpu_credits = credit_specification.value
    }
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = 8
  }

  tags = merge(var.tags, { Name = "${var.name}-bastion", Role = "polybot-bastion" })
}
