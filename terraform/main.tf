# Polybot's long-lived half. The serverless half (state machine, queue, table,
# bucket, secret) is the SAM stack of template.yaml; its Outputs are read here.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

data "aws_cloudformation_stack" "serverless" {
  name = var.sam_stack_name
}

locals {
  name = "polybot-${var.environment}"
  sam  = data.aws_cloudformation_stack.serverless.outputs
  # The AMI is an input, never a lookup: Amazon Linux publishes a new one every
  # few weeks, and a lookup at every plan would roll both groups and replace the
  # bastion whenever it did. It changes when ami_id does, on purpose.
  ami_id  = var.ami_id
  alarms  = concat(compact([lookup(local.sam, "AlarmTopicArn", "")]), var.alarm_actions)
  bucket  = local.sam["ImagesBucketName"]
  bkt_arn = lookup(local.sam, "ImagesBucketArn", "arn:${data.aws_partition.current.partition}:s3:::${local.bucket}")
  # The bootstrap's workload boundary (terraform/bootstrap/boundary.tf): the
  # deploy role may create a role only with it, so every role here carries it.
  permissions_boundary_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${var.permissions_boundary_name}"
}

# --- the image each part runs: one immutable reference per image (CI tags
# with the git commit SHA, ECR refuses to move a tag), given here, written to
# the launch templates (a new reference is a new launch template version,
# which starts a rolling instance refresh) and recorded in SSM. A pipeline
# that rebuilt only one image passes only that reference; the other is read
# back from its parameter, inside the same plan, so two deploys serialised by
# the state lock can never put an older reference back. ---

locals {
  # A full reference with a tag (never "latest") or a digest.
  image_reference_pattern = "^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})$"
  image_parameter_names = {
    bot    = "/${local.name}/bot-image"
    worker = "/${local.name}/worker-image"
  }
  given_images = { bot = var.bot_image, worker = var.worker_image }
  images = {
    for part, given in local.given_images :
    part => given != null ? given : data.aws_ssm_parameter.deployed_image[part].insecure_value
  }
  # Images in ECR: the instances may pull from exactly those repositories.
  ecr_image_pattern = "^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com[.a-z]*/(?P<repository>[^:@]+)"
  ecr_images        = [for image in values(local.images) : regex(local.ecr_image_pattern, image) if can(regex(local.ecr_image_pattern, image))]
  container_repository_arns = distinct(concat(var.container_repository_arns, [
    for image in local.ecr_images :
    "arn:${data.aws_partition.current.partition}:ecr:${image.region}:${image.account}:repository/${image.repository}"
  ]))
}

data "aws_ssm_parameter" "deployed_image" {
  for_each = { for part, given in local.given_images : part => local.image_parameter_names[part] if given == null }

  name = each.value
}

resource "aws_ssm_parameter" "deployed_image" {
  #checkov:skip=CKV2_AWS_34:An image reference is not a secret: it is in every launch template and on every instance; a String keeps it readable without KMS permissions.
  for_each = local.image_parameter_names

  name           = each.value
  description    = "Image the Polybot ${each.key} instances of ${local.name} run (written by terraform apply; read back when a deploy does not pass it)"
  type           = "String"
  insecure_value = local.images[each.key]

  # A reference read back from the parameter is checked like a given one.
  lifecycle {
    precondition {
      condition     = can(regex(local.image_reference_pattern, local.images[each.key])) && !endswith(local.images[each.key], ":latest")
      error_message = "The ${each.key} image must be a full reference with a tag other than latest, or a digest."
    }
  }
}

module "network" {
  source = "./modules/network"

  name                     = local.name
  cidr_block               = var.vpc_cidr_block
  single_nat_gateway       = var.single_nat_gateway
  permissions_boundary_arn = local.permissions_boundary_arn
}

module "iam" {
  source = "./modules/iam"

  name                = local.name
  state_machine_arn   = local.sam["ImagePipelineArn"]
  telegram_secret_arn = local.sam["TelegramSecretArn"]
  detection_queue_arn = local.sam["DetectionQueueArn"]
  images_bucket_arn   = local.bkt_arn
  results_table_arn   = local.sam["ResultsTableArn"]

  bot_log_group_name        = module.bot.log_group_name
  worker_log_group_name     = module.yolo.log_group_name
  worker_group_name_prefix  = module.yolo.autoscaling_group_name_prefix
  container_repository_arns = local.container_repository_arns
  session_manager_access    = var.session_manager_access
  permissions_boundary_arn  = local.permissions_boundary_arn
}

module "bastion" {
  source = "./modules/bastion"

  name                    = local.name
  vpc_id                  = module.network.vpc_id
  public_subnet_id        = module.network.public_subnet_ids[0]
  ami_id                  = local.ami_id
  instance_type           = var.bastion_instance_type
  key_name                = var.key_name
  allowed_ssh_cidr_blocks = var.allowed_ssh_cidr_blocks
  detailed_monitoring     = var.detailed_monitoring
}

module "load_balancer" {
  source = "./modules/load_balancer"

  name                            = local.name
  vpc_id                          = module.network.vpc_id
  vpc_cidr_block                  = module.network.vpc_cidr_block
  public_subnet_ids               = module.network.public_subnet_ids
  domain_name                     = var.domain_name
  hosted_zone_id                  = var.hosted_zone_id
  wait_for_certificate_validation = var.wait_for_certificate_validation
  deletion_protection             = var.alb_deletion_protection
  access_logs_bucket              = var.alb_access_logs_bucket
  alarm_actions                   = local.alarms
}

module "bot" {
  source = "./modules/bot"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  private_subnet_ids        = module.network.private_subnet_ids
  ami_id                    = local.ami_id
  instance_type             = var.bot_instance_type
  key_name                  = var.key_name
  detailed_monitoring       = var.detailed_monitoring
  instance_profile_name     = module.iam.bot_instance_profile_name
  alb_security_group_id     = module.load_balancer.alb_security_group_id
  bastion_security_group_id = module.bastion.security_group_id
  target_group_arn          = module.load_balancer.target_group_arn
  bot_image                 = local.images["bot"]
  region                    = var.region
  state_machine_arn         = local.sam["ImagePipelineArn"]
  telegram_secret_id        = local.sam["TelegramSecretArn"]
  public_url                = module.load_balancer.public_url
  images_bucket             = local.bucket
  results_table             = local.sam["ResultsTableName"]
  # The serverless stack's one retention (template.yaml RetentionDays): the bot stamps its items with it.
  retention_days      = tonumber(lookup(local.sam, "RetentionDays", "30"))
  model               = var.model
  extra_models        = var.extra_models
  log_retention_days  = var.log_retention_days
  alarm_actions       = local.alarms
  silence_alarm_hours = var.webhook_silence_alarm_hours
  # Explicit: nothing in the module refers to the routes, yet each boot needs them.
  nat_route_ids = module.network.nat_route_ids
}

module "yolo" {
  source = "./modules/yolo"

  name                        = local.name
  vpc_id                      = module.network.vpc_id
  private_subnet_ids          = module.network.private_subnet_ids
  ami_id                      = local.ami_id
  instance_type               = var.yolo_instance_type
  key_name                    = var.key_name
  instance_profile_name       = module.iam.yolo_instance_profile_name
  bastion_security_group_id   = module.bastion.security_group_id
  min_size                    = var.yolo_min_size
  max_size                    = var.yolo_max_size
  desired_capacity            = var.yolo_desired_capacity
  worker_image                = local.images["worker"]
  model                       = var.model
  extra_models                = var.extra_models
  region                      = var.region
  detection_queue_url         = local.sam["DetectionQueueUrl"]
  detection_queue_arn         = local.sam["DetectionQueueArn"]
  backlog_per_instance_target = var.backlog_per_instance_target
  alarm_actions               = local.alarms
  log_retention_days          = var.log_retention_days
  # Explicit: nothing in the module refers to the routes, yet each boot needs them.
  nat_route_ids = module.network.nat_route_ids
}
