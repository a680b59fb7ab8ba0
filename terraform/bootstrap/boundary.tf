# The permissions boundary of every role the pipelines create: the SAM stack's
# function and state machine roles (template.yaml, parameter
# PermissionsBoundaryName) and the main configuration's instance and flow logs
# roles (terraform/, variable permissions_boundary_name). A role's effective
# permissions are what its own policies grant AND what this allows, so a role
# the pipelines may write policies for can never hold more than Polybot's
# workloads use: nothing of IAM, no sts:AssumeRole, nothing of Organizations,
# of the buckets, repositories or roles this configuration creates.
#
# policies.tf lets the deploy role and the CloudFormation role create a role,
# or write or attach its policies, only when the role carries this boundary
# (the iam:PermissionsBoundary condition), and denies them removing it,
# replacing it, or changing this policy. Its name is outside the
# <name>-<environment>-* prefix their IAM statements are scoped to.
#
# What it allows is the union of the workloads' own policies (template.yaml's
# roles; terraform/modules/iam, terraform/modules/network), on the same
# resources: tests/unit/test_template_iam.py and
# tests/infrastructure/test_iam_escalation.py check every role's grants fall inside it.

locals {
  workload_boundary_name = "${var.name}-workload-boundary"
  workload_boundary_arn  = "${local.arn}:iam::${local.account_id}:policy/${local.workload_boundary_name}"

  # What this configuration names itself, which no pipeline statement may match.
  own_names = concat(
    [aws_iam_role.deploy.name, aws_iam_role.cloudformation.name, local.workload_boundary_name],
    [for policy in aws_iam_policy.deploy : policy.name],
    [for policy in aws_iam_policy.cloudformation : policy.name],
    [for bucket in local.buckets : bucket.name],
    values(var.repositories),
  )

  # Log groups of the workloads: the functions' (/aws/lambda/<stack>/...), the
  # state machine's, the containers' and cloud-init's (/<prefix>/...), the VPC
  # flow logs' (/vpc/<prefix>/...).
  workload_log_group_arns = flatten([
    for prefix in local.prefixes : [
      "${local.arn}:logs:${local.regional}:log-group:/aws/lambda/${prefix}/*",
      "${local.arn}:logs:${local.regional}:log-group:/aws/lambda/${prefix}-*",
      "${local.arn}:logs:${local.regional}:log-group:/aws/vendedlogs/states/${prefix}-*",
      "${local.arn}:logs:${local.regional}:log-group:/${prefix}/*",
      "${local.arn}:logs:${local.regional}:log-group:/vpc/${prefix}/*",
    ]
  ])
}

data "aws_iam_policy_document" "workload_boundary" {
  # Originals and annotated images in the images bucket
  # (CloudFormation names it <stack>-imagesbucket-<random>).
  # DeleteObject: /forget deletes a chat's images (ForgetChat, and SendReply /
  # NotifyFailure for an image in flight), which it finds by listing their prefix.
  statement {
    sid       = "ImagesInTheBucket"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = [for prefix in local.prefixes : "${local.arn}:s3:::${prefix}-*/*"]
  }

  statement {
    sid       = "FindChatImages"
    actions   = ["s3:ListBucket"]
    resources = [for prefix in local.prefixes : "${local.arn}:s3:::${prefix}-*"]
  }

  statement {
    sid = "ResultsTableItems"
    # BatchWriteItem: /forget deletes a chat's items in batches.
    actions = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = flatten([
      for prefix in local.prefixes : [
        "${local.arn}:dynamodb:${local.regional}:table/${prefix}-*",
        "${local.arn}:dynamodb:${local.regional}:table/${prefix}-*/index/*",
      ]
    ])
  }

  statement {
    sid = "DetectionQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:sqs:${local.regional}:${prefix}-*"]
  }

  # CloudFormation names the state machine and the secret <logical id>-<random>,
  # without the stack's name: scoped to the account and region (as in policies.tf).
  statement {
    sid       = "StartImagePipeline"
    actions   = ["states:StartExecution"]
    resources = ["${local.arn}:states:${local.regional}:stateMachine:*"]
  }

  statement {
    sid       = "ReadTelegramSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.arn}:secretsmanager:${local.regional}:secret:*"]
  }

  statement {
    sid       = "InvokeWorkflowFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = [for prefix in local.prefixes : "${local.arn}:lambda:${local.regional}:function:${prefix}-*"]
  }

  statement {
    sid = "WriteLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = local.workload_log_group_arns
  }

  statement {
    sid       = "ReportContainerHealth"
    actions   = ["autoscaling:SetInstanceHealth"]
    resources = [for prefix in local.prefixes : "${local.arn}:autoscaling:${local.regional}:autoScalingGroup:*:autoScalingGroupName/${prefix}-*"]
  }

  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["${local.arn}:ecr:${local.regional}:repository/*"]
  }

  statement {
    sid       = "RegisterWithSystemsManager"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = ["${local.arn}:ec2:${local.regional}:instance/*"]
  }

  # Customer-managed keys of the stack (the alarm topic's, kms_key_arns), used,
  # never managed; their key policies say who may.
  statement {
    sid       = "UseStackKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["${local.arn}:kms:${local.regional}:key/*"]
  }

  # Actions AWS authorises only on "*": task callbacks (the task token names
  # the execution), the state machine's log delivery (Step Functions'
  # documented policy), X-Ray, custom metrics, the registry login, Session
  # Manager's channels.
  statement {
    sid = "ActionsOnlyOnEverything"
    actions = [
      "cloudwatch:PutMetricData",
      "ecr:GetAuthorizationToken",
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
      "states:SendTaskFailure",
      "states:SendTaskHeartbeat",
      "states:SendTaskSuccess",
      "xray:GetSamplingRules",
      "xray:GetSamplingStatisticSummaries",
      "xray:GetSamplingTargets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "workload_boundary" {
  name        = local.workload_boundary_name
  description = "Permissions boundary of every role Polybot's pipelines create: the most its functions, state machine and instances may do"
  policy      = data.aws_iam_policy_document.workload_boundary.json

  lifecycle {
    # The pipelines' statements are scoped by name to <name>-<environment>-*:
    # an environment named like a part of one of this configuration's own
    # names ("github", "deploy", "cloudformation", "workload", "tfstate",
    # "sam") would hand the pipelines their own roles, their own policies,
    # this boundary or the state bucket.
    precondition {
      condition = alltrue([
        for own in local.own_names : alltrue([for prefix in local.prefixes : !startswith(own, "${prefix}-")])
      ])
      error_message = "An environment's prefix (<name>-<environment>-) starts one of the bootstrap's own names (${join(", ", local.own_names)}); rename the environment."
    }
  }
}
