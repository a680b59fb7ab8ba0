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

# --- the two roles, each with its inline policy, the managed policies and an
# instance profile ---

locals {
  roles = {
    bot  = { description = "Polybot bot instances", policy = data.aws_iam_policy_document.bot.json }
    yolo = { description = "Polybot YOLO workers", policy = data.aws_iam_policy_document.yolo.json }
  }
  managed_attachments = {
    for pair in setproduct(keys(local.roles), local.managed_policy_arns) :
    "${pair[0]} ${basename(pair[1])}" => { role = pair[0], policy_arn = pair[1] }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name_prefix        = "${var.name}-${each.key}-"
  description        = each.value.description
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles

  name   = "polybot-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = local.managed_attachments

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.policy_arn
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
