output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability Zones the subnets are in, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per Availability Zone."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per Availability Zone."
  value       = aws_subnet.private[*].id
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Public addresses the private subnets reach the internet from."
  value       = aws_eip.nat[*].public_ip
}

output "nat_route_ids" {
  description = "IDs of the private subnets' default routes through the NAT gateways. Whatever boots in a private subnet and installs or pulls from the internet should depend on them."
  value       = aws_route.private_nat[*].id

  # A route helps a subnet only once the subnet uses its table.
  depends_on = [aws_route_table_association.private]
}

output "gateway_endpoint_ids" {
  description = "IDs of the gateway endpoints on the private route tables, by service (s3, dynamodb)."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.id }
}
