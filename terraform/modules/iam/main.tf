data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # ARNs built from names, not taken from the resources, so every policy
  # document is known at plan time (and checked there: tests/infrastructure).
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  log_stream_arns = {
    bot  = "${local.arn_prefix}:logs:${local.region}:${local.account_id}:log-group:${var.bot_log_group_name}:*"
    yolo = "${local.arn_prefix}:logs:${local.region}:${local.account_id}:log-group:${var.worker_log_group_name}:*"
  }
  worker_groups_arn = "${local.arn_prefix}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${var.worker_group_name_prefix}*"
  instances_arn     = "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:instance/*"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# --- bot: starts one execution per image (or album), reads its Telegram credentials,
# keeps its chats' items in the results table ---

data "aws_iam_policy_document" "bot" {
  statement {
    sid       = "StartImagePipeline"
    actions   = ["states:StartExecution"]
    resources = [var.state_machine_arn]
  }

  statement {
    sid       = "ReadTelegramSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.telegram_secret_arn]
  }

  # The bot's items in the results table: per-chat photo counts (bot/quota.py),
  # preferences (bot/preferences.py), album photos (polybot/albums.py); it
  # reads analysed images' items for Details and /history (bot/history.py).
  statement {
    sid       = "ChatItems"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [var.results_table_arn]
  }

  # /history: a chat's last analyses, through the table's ByChat index.
  statement {
    sid       = "ChatHistory"
    actions   = ["dynamodb:Query"]
    resources = ["${var.results_table_arn}/index/ByChat"]
  }

  # /history re-sends an annotated image from the bucket when Telegram no longer has it.
  statement {
    sid       = "ReshowAnnotatedImages"
    actions   = ["s3:GetObject"]
    resources = ["${var.images_bucket_arn}/${var.annotated_prefix}*"]
  }

  # A crop per object (bot/crops.py) is cut from the original a Details button's image was found in.
  statement {
    sid       = "CropFromOriginals"
    actions   = ["s3:GetObject"]
    resources = ["${var.images_bucket_arn}/${var.originals_prefix}*"]
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptWithStackKeys"
      actions   = ["kms:Decrypt"]
      resources = var.kms_key_arns
    }
  }
}

# --- yolo: serves the detection queue, reads originals, writes annotated images,
# reports each task's outcome with its task token ---

data "aws_iam_policy_document" "yolo" {
  statement {
    sid = "ServeDetectionQueue"
    # Receive, renew the lease while working (ChangeMessageVisibility), delete once reported.
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [var.detection_queue_arn]
  }

  statement {
    sid       = "ReadOriginals"
    actions   = ["s3:GetObject"]
    resources = ["${var.images_bucket_arn}/${var.originals_prefix}*"]
  }

  statement {
    sid       = "WriteAnnotatedImages"
    actions   = ["s3:PutObject"]
    resources = ["${var.images_bucket_arn}/${var.annotated_prefix}*"]
  }

  # On "*" because AWS authorises these only on "*": the Service Authorization
  # Reference gives them no resource type (the task token names the execution),
  # so a statement naming the state machine would never match and every
  # callback would be denied. tests/auxil/iam.py holds the list.
  statement {
    sid       = "ReportTaskOutcome"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = ["*"]
  }

  # polybot-report-health (user data) marks its own instance Unhealthy when the
  # worker container is not; only in the workers' group(s).
  statement {
    sid       = "ReportContainerHealth"
    actions   = ["autoscaling:SetInstanceHealth"]
    resources = [local.worker_groups_arn]
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseStackKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns
    }
  }
}

# --- both: write their container's output to their own log group (Docker's
# awslogs driver, on the host's credentials) ---

data "aws_iam_policy_document" "container_logs" {
  for_each = local.log_stream_arns

  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [each.value]
  }
}

# --- both, only when asked: Session Manager shells instead of SSH ---

data "aws_iam_policy_document" "session_manager" {
  statement {
    sid       = "RegisterWithSystemsManager"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = [local.instances_arn]
  }

  # The Session Manager channels are authorised only on "*".
  statement {
    sid = "OpenSessionChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

# --- the two roles, each with its inline policies and an instance profile ---

locals {
  roles = {
    bot  = { description = "Polybot bot instances", policy = data.aws_iam_policy_document.bot.json }
    yolo = { description = "Polybot YOLO workers", policy = data.aws_iam_policy_document.yolo.json }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name_prefix          = "${var.name}-${each.key}-"
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.ec2_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles

  name   = "polybot-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_iam_role_policy" "container_logs" {
  for_each = local.roles

  name   = "polybot-${each.key}-container-logs"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.container_logs[each.key].json
}

resource "aws_iam_role_policy" "session_manager" {
  for_each = var.session_manager_access ? local.roles : {}

  name   = "polybot-${each.key}-session-manager"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.session_manager.json
}

resource "aws_iam_instance_profile" "this" {
  for_each = local.roles

  name_prefix = "${var.name}-${each.key}-"
  role        = aws_iam_role.this[each.key].name

  tags = var.tags
}

# --- both: pull their container image from ECR, when it lives there ---

data "aws_iam_policy_document" "pull_images" {
  count = length(var.container_repository_arns) > 0 ? 1 : 0

  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = var.container_repository_arns
  }

  # The registry login token is not a resource IAM can scope: this action only takes "*".
  statement {
    sid       = "LogInToRegistry"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "pull_images" {
  count = length(var.container_repository_arns) > 0 ? 1 : 0

  name_prefix = "${var.name}-pull-images-"
  description = "Pull Polybot's container images from ECR"
  policy      = data.aws_iam_policy_document.pull_images[0].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "pull_images" {
  for_each = length(var.container_repository_arns) > 0 ? aws_iam_role.this : {}

  role       = each.value.name
  policy_arn = aws_iam_policy.pull_images[0].arn
}
