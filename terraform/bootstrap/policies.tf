# What the pipelines may do, and on what. The rule for every statement: one on
# "*" holds only actions AWS authorises only on "*" (the Describe/List calls of
# EC2, ELB, Auto Scaling...; checked against the Service Authorization
# Reference by tests/infrastructure/test_iam_policies.py); every other action
# names the resources it is used on, by the names Polybot gives them:
#   <name>-<environment>-*   everything the main configuration and the SAM
#                            stack create (polybot-prod-alb, polybot-prod-bot-...)
#   /<name>-<environment>/   its log groups and SSM parameters
# Resources whose names AWS generates (VPC parts, launch templates, certificates,
# the SAM stack's state machine and secret) are scoped to this account and
# region. Tag conditions would narrow these further; they are not used because
# each resource type takes them differently at creation, and a wrong one only
# shows as AccessDenied in a real deploy.
#
# Roles: both roles may create a role, or write or attach its policies, only
# with the workload boundary on it (boundary.tf; the iam:PermissionsBoundary
# condition), and may never remove or replace that boundary or change the
# boundary policy (keep_workload_boundary, in each policy that writes roles).
# So a role the pipelines write holds at most what the boundary allows, however
# its own policies read. tests/infrastructure/test_iam_escalation.py checks it.
#
# What each role needs: the actions the CloudFormation registry schemas list
# for the create, read, update and delete handlers of every resource type it
# deploys (tests/infrastructure/test_deploy_permissions.py; the few that do not
# apply are listed there with their reasons).

locals {
  arn      = "arn:${local.partition}"
  regional = "${local.region}:${local.account_id}"
  prefixes = [for environment in var.environments : "${var.name}-${environment}"]

  repository_arns         = [for name in values(var.repositories) : "${local.arn}:ecr:${local.regional}:repository/${name}"]
  stack_arns              = [for prefix in local.prefixes : "${local.arn}:cloudformation:${local.regional}:stack/${prefix}/*"]
  role_arns               = [for prefix in local.prefixes : "${local.arn}:iam::${local.account_id}:role/${prefix}-*"]
  state_key_arn           = "${local.bucket_arns.state}/${var.name}/*"
  cloudformation_role_arn = "${local.arn}:iam::${local.account_id}:role/${var.name}-cloudformation"

  deploy_policies = {
    images = {
      description = "Push Polybot's images to its two ECR repositories"
      json        = data.aws_iam_policy_document.push_images.json
    }
    sam = {
      description = "sam deploy of Polybot's stacks, through the CloudFormation role"
      json        = data.aws_iam_policy_document.sam_deploy.json
    }
    state = {
      description = "Read and write the main configuration's Terraform state, with its lock file"
      json        = data.aws_iam_policy_document.terraform_state.json
    }
    network = {
      description = "terraform apply of the main configuration: VPC, security groups, instances, launch templates"
      json        = data.aws_iam_policy_document.apply_network.json
    }
    edge = {
      description = "terraform apply of the main configuration: load balancer, certificate, DNS records"
      json        = data.aws_iam_policy_document.apply_edge.json
    }
    operations = {
      description = "terraform apply of the main configuration: auto-scaling groups, alarms, log groups, parameters; waiting for instance refreshes"
      json        = data.aws_iam_policy_document.apply_operations.json
    }
    iam = {
      description = "terraform apply of the main configuration: the instances' and flow logs' roles, instance profiles and policies"
      json        = data.aws_iam_policy_document.apply_iam.json
    }
  }

  cloudformation_policies = {
    stack = {
      description = "CloudFormation deploying Polybot's SAM stacks: bucket, queues, table, secret"
      json        = data.aws_iam_policy_document.sam_resources.json
    }
    functions = {
      description = "CloudFormation deploying Polybot's SAM stacks: functions, layer, state machine"
      json        = data.aws_iam_policy_document.sam_functions.json
    }
    observability = {
      description = "CloudFormation deploying Polybot's SAM stacks: logs, alarms, dashboard, alarm topic and its key"
      json        = data.aws_iam_policy_document.sam_observability.json
    }
    roles = {
      description = "CloudFormation deploying Polybot's SAM stacks: the functions' and state machine's roles, within the workload boundary"
      json        = data.aws_iam_policy_document.sam_roles.json
    }
  }

  # The IAM actions that create a role or change what it may do; each is
  # allowed only for a role carrying the workload boundary.
  role_writing_actions = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
  ]
}

# --- image pipelines (bot.yml, worker.yml): push <repository>:<git sha> ---

data "aws_iam_policy_document" "push_images" {
  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = local.repository_arns
  }

  # The registry login token is not a resource IAM can scope.
  statement {
    sid       = "LogInToRegistry"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

# --- sam.yml: sam deploy --s3-bucket <artifacts> --role-arn <cloudformation role> ---

data "aws_iam_policy_document" "sam_deploy" {
  statement {
    sid = "DeployStacks"
    actions = [
      "cloudformation:CreateChangeSet",
      "cloudformation:DeleteChangeSet",
      "cloudformation:DescribeChangeSet",
      "cloudformation:DescribeStackEvents",
      "cloudformation:DescribeStackResource",
      "cloudformation:DescribeStackResources",
      "cloudformation:DescribeStacks",
      "cloudformation:ExecuteChangeSet",
      "cloudformation:GetTemplate",
      "cloudformation:GetTemplateSummary",
      "cloudformation:ListChangeSets",
      "cloudformation:ListStackResources",
    ]
    resources = local.stack_arns
  }

  # A change set of a template with a transform is authorised on the transform too.
  statement {
    sid       = "UseServerlessTransform"
    actions   = ["cloudformation:CreateChangeSet"]
    resources = ["${local.arn}:cloudformation:${local.region}:aws:transform/Serverless-2016-10-31"]
  }

  statement {
    sid       = "UploadArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.bucket_arns.artifacts}/*"]
  }

  statement {
    sid       = "FindArtifacts"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [local.bucket_arns.artifacts]
  }

  statement {
    sid       = "HandRoleToCloudFormation"
    actions   = ["iam:PassRole"]
    resources = [local.cloudformation_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["cloudformation.amazonaws.com"]
    }
  }
}

# --- deploy.yml: terraform init/plan/apply with the S3 backend (use_lockfile) ---

data "aws_iam_policy_document" "terraform_state" {
  statement {
    sid       = "ListStates"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arns.state]
  }

  # States live under <name>/<environment>/terraform.tfstate, each lock file beside its state.
  statement {
    sid       = "ReadWriteStates"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.state_key_arn]
  }

  statement {
    sid       = "ReleaseLocks"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.bucket_arns.state}/${var.name}/*.tflock"]
  }
}

data "aws_iam_policy_document" "apply_network" {
  statement {
    sid = "ReadNetworkAndInstances"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAddressesAttribute",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeFlowLogs",
      "ec2:DescribeIamInstanceProfileAssociations",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceCreditSpecifications",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeKeyPairs",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeLaunchTemplates",
      "ec2:DescribeNatGateways",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribePrefixLists",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeTags",
      "ec2:DescribeVolumes",
      "ec2:DescribeVpcEncryptionControls",
      "ec2:DescribeVpcEndpointServices",
      "ec2:DescribeVpcEndpoints",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageNetworkAndInstances"
    actions = [
      "ec2:AllocateAddress",
      "ec2:AssociateIamInstanceProfile",
      "ec2:AssociateRouteTable",
      "ec2:AttachInternetGateway",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateFlowLogs",
      "ec2:CreateInternetGateway",
      "ec2:CreateLaunchTemplate",
      "ec2:CreateLaunchTemplateVersion",
      "ec2:CreateNatGateway",
      "ec2:CreateRoute",
      "ec2:CreateRouteTable",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet",
      "ec2:CreateTags",
      "ec2:CreateVpc",
      "ec2:CreateVpcEndpoint",
      "ec2:DeleteFlowLogs",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteLaunchTemplate",
      "ec2:DeleteLaunchTemplateVersions",
      "ec2:DeleteNatGateway",
      "ec2:DeleteRoute",
      "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet",
      "ec2:DeleteTags",
      "ec2:DeleteVpc",
      "ec2:DeleteVpcEndpoints",
      "ec2:DescribeInstanceAttribute",
      "ec2:DescribeVpcAttribute",
      "ec2:DetachInternetGateway",
      "ec2:DisassociateAddress",
      "ec2:DisassociateIamInstanceProfile",
      "ec2:DisassociateRouteTable",
      "ec2:ModifyInstanceAttribute",
      "ec2:ModifyInstanceCreditSpecification",
      "ec2:ModifyInstanceMaintenanceOptions",
      "ec2:ModifyInstanceMetadataOptions",
      "ec2:ModifyLaunchTemplate",
      "ec2:ModifyPrivateDnsNameOptions",
      "ec2:ModifySubnetAttribute",
      "ec2:ModifyVpcAttribute",
      "ec2:ModifyVpcEndpoint",
      "ec2:MonitorInstances",
      "ec2:ReleaseAddress",
      "ec2:ReplaceIamInstanceProfileAssociation",
      "ec2:ReplaceRoute",
      "ec2:ReplaceRouteTableAssociation",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RunInstances",
      "ec2:StartInstances",
      "ec2:StopInstances",
      "ec2:TerminateInstances",
      "ec2:UnmonitorInstances",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = concat(
      [
        for type in [
          "elastic-ip", "instance", "internet-gateway", "key-pair", "launch-template", "natgateway",
          "network-interface", "route-table", "security-group", "security-group-rule", "subnet",
          "volume", "vpc", "vpc-endpoint", "vpc-flow-log",
        ] : "${local.arn}:ec2:${local.regional}:${type}/*"
      ],
      # Public AMIs (Amazon Linux) belong to no account.
      ["${local.arn}:ec2:${local.region}::image/*"],
    )
  }
}

data "aws_iam_policy_document" "apply_edge" {
  statement {
    sid = "ReadLoadBalancersAndZones"
    actions = [
      "acm:RequestCertificate",
      "elasticloadbalancing:DescribeCapacityReservation",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "route53:ListHostedZones",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageLoadBalancer"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateTargetGroup",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RemoveTags",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
    ]
    resources = flatten([
      for prefix in local.prefixes : [
        "${local.arn}:elasticloadbalancing:${local.regional}:loadbalancer/app/${prefix}-*/*",
        "${local.arn}:elasticloadbalancing:${local.regional}:targetgroup/${prefix}-*/*",
        "${local.arn}:elasticloadbalancing:${local.regional}:listener/app/${prefix}-*/*/*",
        "${local.arn}:elasticloadbalancing:${local.regional}:listener-rule/app/${prefix}-*/*/*/*",
      ]
    ])
  }

  statement {
    sid = "ManageCertificates"
    actions = [
      "acm:AddTagsToCertificate",
      "acm:DeleteCertificate",
      "acm:DescribeCertificate",
      "acm:ListTagsForCertificate",
      "acm:RemoveTagsFromCertificate",
      "acm:UpdateCertificateOptions",
    ]
    resources = ["${local.arn}:acm:${local.regional}:certificate/*"]
  }

  statement {
    sid     = "ManageRecords"
    actions = ["route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets"]
    resources = length(var.hosted_zone_ids) > 0 ? [
      for id in var.hosted_zone_ids : "${local.arn}:route53:::hostedzone/${id}"
    ] : ["${local.arn}:route53:::hostedzone/*"]
  }

  statement {
    sid       = "WaitForRecords"
    actions   = ["route53:GetChange"]
    resources = ["${local.arn}:route53:::change/*"]
  }
}

data "aws_iam_policy_document" "apply_operations" {
  statement {
    sid = "ReadGroupsLogsAndParameters"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeInstanceRefreshes",
      "autoscaling:DescribeLifecycleHooks",
      "autoscaling:DescribeLoadBalancerTargetGroups",
      "autoscaling:DescribePolicies",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "autoscaling:DescribeTrafficSources",
      "autoscaling:DescribeWarmPool",
      "cloudwatch:GetMetricData",
      "logs:DescribeIndexPolicies",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "ssm:DescribeParameters",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageGroups"
    actions = [
      "autoscaling:AttachLoadBalancerTargetGroups",
      "autoscaling:AttachTrafficSources",
      "autoscaling:CancelInstanceRefresh",
      "autoscaling:CreateAutoScalingGroup",
      "autoscaling:CreateOrUpdateTags",
      "autoscaling:DeleteAutoScalingGroup",
      "autoscaling:DeletePolicy",
      "autoscaling:DeleteTags",
      "autoscaling:DetachLoadBalancerTargetGroups",
      "autoscaling:DetachTrafficSources",
      "autoscaling:DisableMetricsCollection",
      "autoscaling:EnableMetricsCollection",
      "autoscaling:PutScalingPolicy",
      "autoscaling:StartInstanceRefresh",
      "autoscaling:UpdateAutoScalingGroup",
    ]
    resources = [
      for prefix in local.prefixes :
      "${local.arn}:autoscaling:${local.regional}:autoScalingGroup:*:autoScalingGroupName/${prefix}-*"
    ]
  }

  statement {
    sid = "ManageAlarms"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:ListTagsForResource",
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource",
      "cloudwatch:UntagResource",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:cloudwatch:${local.regional}:alarm:${prefix}-*"]
  }

  # Container and cloud-init logs under /<prefix>/, with their metric filters;
  # VPC flow logs under /vpc/<prefix>/.
  statement {
    sid = "ManageLogGroups"
    actions = [
      "logs:CreateLogGroup",
      "logs:DeleteDataProtectionPolicy",
      "logs:DeleteLogGroup",
      "logs:DeleteMetricFilter",
      "logs:DeleteRetentionPolicy",
      "logs:DescribeMetricFilters",
      "logs:GetDataProtectionPolicy",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "logs:PutMetricFilter",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = flatten([
      for prefix in local.prefixes : [
        "${local.arn}:logs:${local.regional}:log-group:/${prefix}/*",
        "${local.arn}:logs:${local.regional}:log-group:/vpc/${prefix}/*",
      ]
    ])
  }

  # The deployed image references (/<prefix>/bot-image, /<prefix>/worker-image).
  statement {
    sid = "ManageImageParameters"
    actions = [
      "ssm:AddTagsToResource",
      "ssm:DeleteParameter",
      "ssm:GetParameter",
      "ssm:GetParameters",
      "ssm:ListTagsForResource",
      "ssm:PutParameter",
      "ssm:RemoveTagsFromResource",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:ssm:${local.regional}:parameter/${prefix}/*"]
  }

  # The SAM stack's Outputs, which the main configuration reads.
  statement {
    sid       = "ReadServerlessStack"
    actions   = ["cloudformation:DescribeStacks", "cloudformation:GetStackPolicy"]
    resources = local.stack_arns
  }
}

# --- in every policy that writes roles: roles are written only with the
# workload boundary on them (the main configuration's roles, and template.yaml's
# through PermissionsBoundaryName), and the boundary stays on them ---

data "aws_iam_policy_document" "keep_workload_boundary" {
  statement {
    sid       = "WriteRolesWithinTheBoundary"
    actions   = [for action in local.role_writing_actions : action if action != "iam:AttachRolePolicy"]
    resources = local.role_arns

    condition {
      test     = "ArnEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid       = "NeverRemoveARoleBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }

  # Also denies writing a role that carries another boundary, or none.
  statement {
    sid       = "NoRoleWritingOutsideTheBoundary"
    effect    = "Deny"
    actions   = local.role_writing_actions
    resources = ["*"]

    condition {
      test     = "ArnNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid    = "NeverChangeTheBoundaryPolicy"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
    ]
    resources = [local.workload_boundary_arn]
  }
}

data "aws_iam_policy_document" "apply_iam" {
  source_policy_documents = [data.aws_iam_policy_document.keep_workload_boundary.json]

  statement {
    sid = "ManageRoles"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = local.role_arns
  }

  # Only Polybot's own managed policies, so no AWS managed policy (say,
  # AdministratorAccess) can be attached to a role the pipelines create.
  statement {
    sid       = "AttachOwnPolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = local.role_arns

    condition {
      test     = "ArnLike"
      variable = "iam:PolicyARN"
      values   = [for prefix in local.prefixes : "${local.arn}:iam::${local.account_id}:policy/${prefix}-*"]
    }

    condition {
      test     = "ArnEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid = "ManagePolicies"
    actions = [
      "iam:CreatePolicy",
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:ListEntitiesForPolicy",
      "iam:ListPolicyTags",
      "iam:ListPolicyVersions",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:iam::${local.account_id}:policy/${prefix}-*"]
  }

  statement {
    sid = "ManageInstanceProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:CreateInstanceProfile",
      "iam:DeleteInstanceProfile",
      "iam:GetInstanceProfile",
      "iam:ListInstanceProfileTags",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:TagInstanceProfile",
      "iam:UntagInstanceProfile",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:iam::${local.account_id}:instance-profile/${prefix}-*"]
  }

  # Instance roles to EC2 (launch templates, the bastion), the flow logs role to VPC Flow Logs.
  statement {
    sid       = "HandRolesToInstancesAndFlowLogs"
    actions   = ["iam:PassRole"]
    resources = local.role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }
  }

  # The first auto-scaling group and load balancer of an account create these.
  statement {
    sid     = "CreateServiceLinkedRoles"
    actions = ["iam:CreateServiceLinkedRole"]
    resources = [
      "${local.arn}:iam::${local.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
      "${local.arn}:iam::${local.account_id}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
    ]
  }
}

# --- the CloudFormation role: what the SAM stack (template.yaml) creates ---

data "aws_iam_policy_document" "sam_resources" {
  statement {
    sid = "ManageImagesBucket"
    actions = [
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:GetAccelerateConfiguration",
      "s3:GetAnalyticsConfiguration",
      "s3:GetBucketAbac",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketLocation",
      "s3:GetBucketLogging",
      "s3:GetBucketMetadataTableConfiguration",
      "s3:GetBucketNotification",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketOwnershipControls",
      "s3:GetBucketPolicy",
      "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetBucketWebsite",
      "s3:GetEncryptionConfiguration",
      "s3:GetIntelligentTieringConfiguration",
      "s3:GetInventoryConfiguration",
      "s3:GetLifecycleConfiguration",
      "s3:GetMetricsConfiguration",
      "s3:GetReplicationConfiguration",
      "s3:ListBucket",
      "s3:ListTagsForResource",
      "s3:PutBucketNotification",
      "s3:PutBucketOwnershipControls",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
      "s3:TagResource",
      "s3:UntagResource",
    ]
    # CloudFormation names the bucket <stack>-<logical id, lower case>-<random>.
    resources = [for prefix in local.prefixes : "${local.arn}:s3:::${prefix}-*"]
  }

  # Function code and the state machine definition, as sam deploy uploaded them.
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.bucket_arns.artifacts}/*"]
  }

  statement {
    sid = "ManageQueues"
    actions = [
      "sqs:CreateQueue",
      "sqs:DeleteQueue",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ListQueueTags",
      "sqs:SetQueueAttributes",
      "sqs:TagQueue",
      "sqs:UntagQueue",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:sqs:${local.regional}:${prefix}-*"]
  }

  statement {
    sid = "ManageResultsTable"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DeleteTable",
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:DescribeContributorInsights",
      "dynamodb:DescribeKinesisStreamingDestination",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:GetResourcePolicy",
      "dynamodb:ListTagsOfResource",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateContributorInsights",
      "dynamodb:UpdateTable",
      "dynamodb:UpdateTimeToLive",
    ]
    resources = flatten([
      for prefix in local.prefixes : [
        "${local.arn}:dynamodb:${local.regional}:table/${prefix}-*",
        "${local.arn}:dynamodb:${local.regional}:table/${prefix}-*/index/*",
      ]
    ])
  }

  # CloudFormation names a secret <logical id>-<random>, without the stack's
  # name: scoped to the account and region only. The secret's read handler
  # reads its value back; a template could already have a function (whose
  # role the workload boundary lets read secrets) do the same.
  statement {
    sid = "ManageTelegramSecret"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:TagResource",
      "secretsmanager:UntagResource",
      "secretsmanager:UpdateSecret",
    ]
    resources = ["${local.arn}:secretsmanager:${local.regional}:secret:*"]
  }

  # GenerateSecretString (the webhook secret): AWS authorises it only on "*".
  statement {
    sid       = "GenerateSecret"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "sam_functions" {
  statement {
    sid = "ManageFunctions"
    actions = [
      "lambda:CreateFunction",
      "lambda:DeleteFunction",
      "lambda:DeleteFunctionConcurrency",
      "lambda:GetFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionRecursionConfig",
      "lambda:GetFunctionScalingConfig",
      "lambda:GetRuntimeManagementConfig",
      "lambda:ListTags",
      "lambda:PublishVersion",
      "lambda:PutFunctionConcurrency",
      "lambda:PutFunctionRecursionConfig",
      "lambda:PutRuntimeManagementConfig",
      "lambda:TagResource",
      "lambda:UntagResource",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:lambda:${local.regional}:function:${prefix}-*"]
  }

  # The functions' shared layer (AWS::Serverless::LayerVersion), which SAM names
  # after its logical ID, without the stack's name: any layer of the account
  # and region, and its versions.
  statement {
    sid       = "ManageLayer"
    actions   = ["lambda:DeleteLayerVersion", "lambda:GetLayerVersion", "lambda:PublishLayerVersion"]
    resources = ["${local.arn}:lambda:${local.regional}:layer:*", "${local.arn}:lambda:${local.regional}:layer:*:*"]
  }

  # CloudFormation names a state machine <logical id>-<random>, without the
  # stack's name: scoped to the account and region only.
  statement {
    sid = "ManageStateMachine"
    actions = [
      "states:CreateStateMachine",
      "states:DeleteStateMachine",
      "states:DescribeStateMachine",
      "states:ListTagsForResource",
      "states:TagResource",
      "states:UntagResource",
      "states:UpdateStateMachine",
    ]
    resources = ["${local.arn}:states:${local.regional}:stateMachine:*"]
  }

  # The state machine's log delivery: AWS authorises these only on "*".
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "sam_observability" {
  statement {
    sid = "ManageLogGroups"
    actions = [
      "logs:CreateLogGroup",
      "logs:DeleteDataProtectionPolicy",
      "logs:DeleteLogGroup",
      "logs:DeleteMetricFilter",
      "logs:DeleteRetentionPolicy",
      "logs:DescribeMetricFilters",
      "logs:GetDataProtectionPolicy",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "logs:PutMetricFilter",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = flatten([
      for prefix in local.prefixes : [
        # /aws/lambda/<stack>/<function>, and Lambda's default /aws/lambda/<function name>.
        "${local.arn}:logs:${local.regional}:log-group:/aws/lambda/${prefix}/*",
        "${local.arn}:logs:${local.regional}:log-group:/aws/lambda/${prefix}-*",
        "${local.arn}:logs:${local.regional}:log-group:/aws/vendedlogs/states/${prefix}-*",
      ]
    ])
  }

  statement {
    sid = "ManageAlarmsAndDashboard"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DeleteDashboards",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:GetDashboard",
      "cloudwatch:ListTagsForResource",
      "cloudwatch:PutDashboard",
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource",
      "cloudwatch:UntagResource",
    ]
    resources = flatten([
      for prefix in local.prefixes : [
        "${local.arn}:cloudwatch:${local.regional}:alarm:${prefix}-*",
        "${local.arn}:cloudwatch::${local.account_id}:dashboard/${prefix}-*",
      ]
    ])
  }

  statement {
    sid = "ManageAlarmTopic"
    actions = [
      "sns:CreateTopic",
      "sns:DeleteTopic",
      "sns:GetDataProtectionPolicy",
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
      "sns:ListTagsForResource",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:TagResource",
      "sns:UntagResource",
    ]
    resources = [for prefix in local.prefixes : "${local.arn}:sns:${local.regional}:${prefix}-*"]
  }

  # The alarm topic's customer-managed key (CloudWatch cannot publish to a topic
  # encrypted with the AWS-managed SNS key). CloudFormation generates a key's
  # id: any key of the account and region; who may use one is its key policy's
  # say, which the template writes.
  statement {
    sid = "ManageAlarmTopicKey"
    actions = [
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateKeyDescription",
    ]
    resources = ["${local.arn}:kms:${local.regional}:key/*"]
  }

  # An alias action is authorised on the alias and on its key. An alias names
  # its stack: alias/<stack>-... or alias/<stack>/...
  statement {
    sid     = "ManageAlarmTopicKeyAlias"
    actions = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = concat(
      flatten([
        for prefix in local.prefixes : [
          "${local.arn}:kms:${local.regional}:alias/${prefix}-*",
          "${local.arn}:kms:${local.regional}:alias/${prefix}/*",
        ]
      ]),
      ["${local.arn}:kms:${local.regional}:key/*"],
    )
  }

  # Creating a key, listing aliases and the email subscription's attributes:
  # AWS authorises these only on "*".
  statement {
    sid = "ActionsOnlyOnEverything"
    actions = [
      "kms:CreateKey",
      "kms:ListAliases",
      "logs:DescribeIndexPolicies",
      "sns:GetSubscriptionAttributes",
      "sns:SetSubscriptionAttributes",
      "sns:Unsubscribe",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "sam_roles" {
  source_policy_documents = [data.aws_iam_policy_document.keep_workload_boundary.json]

  # The functions' and the state machine's roles: CloudFormation names them
  # <stack>-<logical id>-<random>.
  statement {
    sid = "ManageStackRoles"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = local.role_arns
  }

  # Roles SAM generates may get AWS managed service-role policies (basic Lambda
  # execution, X-Ray); nothing broader can be attached.
  statement {
    sid       = "AttachServiceRolePolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = local.role_arns

    condition {
      test     = "ArnLike"
      variable = "iam:PolicyARN"
      values = [
        "${local.arn}:iam::aws:policy/service-role/*",
        "${local.arn}:iam::aws:policy/AWSXrayWriteOnlyAccess",
      ]
    }

    condition {
      test     = "ArnEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid       = "HandRolesToFunctionsAndStateMachine"
    actions   = ["iam:PassRole"]
    resources = local.role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "states.amazonaws.com"]
    }
  }
}
