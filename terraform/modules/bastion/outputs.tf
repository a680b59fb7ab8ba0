output "instance_id" {
  description = "ID of the bastion instance."
  value       = aws_instance.bastion.id
}

output "public_ip" {
  description = "Public address to SSH to (ssh -J ec2-user@<this> ec2-user@<private ip>)."
  value       = aws_instance.bastion.public_ip
}

output "security_group_id" {
  description = "Security group of the bastion; the bot and worker instances accept SSH only from it."
  value       = aws_security_group.bastion.id
}
