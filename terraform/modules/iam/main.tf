data "aws_partition" "current" {}

locals {
  managed_policy_arns = concat(
    var.attach_ssm_core ? ["arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"] : [],
    var.attach_cloudwatch_agent ? ["arn:${data.aws_partition.current.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"] : [],
  )
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

# --- bot: starts one execution per image, reads its Telegram credentials ---

data "aws_iam_policy_document" "bot" {
  statement {
    sid       = "StartImagePipeline"
    actions   = ["states:StartExecution"]
    resources = [var.state_machine_arn]
  }

  statement {
    sid       = "ReadTelegramSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.telegram_secret_arn]
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

resource "aws_iam_role" "bot" {
  name_prefix        = "${var.name}-bot-"
  description        = "Polybot bot instances"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "bot" {
  name   = "polybot-bot"
  role   = aws_iam_role.bot.id
  policy = data.aws_iam_policy_document.bot.json
}

resource "aws_iam_role_policy_attachment" "bot_managed" {
  count = length(local.managed_policy_arns)

  role       = aws_iam_role.bot.name
  policy_arn = local.managed_policy_arns[count.index]
}

resource "aws_iam_instance_profile" "bot" {
  name_prefix = "${var.name}-bot-"
  role        = aws_iam_role.bot.name

  tags = var.tags
}

# --- yolo: serves the detection queue, reads originals, writes annotated images,
# reports each task's outcome with its task token ---

data "aws_iam_policy_document" "yolo" {
  statement {
    sid = "ServeDetectionQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [var.detection_queue_arn]
  }

  statement {
    sid       = "ReadOriginalsWriteAnnotated"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.images_bucket_arn}/*"]
  }

  # Task-token callbacks are authorised against the state machine that issued the token.
  statement {
    sid       = "ReportTaskOutcome"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = [var.state_machine_arn]
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

resource "aws_iam_role" "yolo" {
  name_prefix        = "${var.name}-yolo-"
  description        = "Polybot YOLO workers"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "yolo" {
  name   = "polybot-yolo"
  role   = aws_iam_role.yolo.id
  policy = data.aws_iam_policy_document.yolo.json
}

resource "aws_iam_role_policy_attachment" "yolo_managed" {
  count = length(local.managed_policy_arns)

  role       = aws_iam_role.yolo.name
  policy_arn = local.managed_policy_arns[count.index]
}

resource "aws_iam_instance_profile" "yolo" {
  name_prefix = "${var.name}-yolo-"
  role        = aws_iam_role.yolo.name

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
  for_each = length(var.container_repository_arns) > 0 ? { bot = aws_iam_role.bot.name, yolo = aws_iam_role.yolo.name } : {}

  role       = each.value
  policy_arn = aws_iam_policy.pull_images[0].arn
}
