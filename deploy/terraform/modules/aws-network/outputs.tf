output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones the subnets are spread over."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (load balancer, NAT gateways), one per availability zone."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (instances, database, cache, search), one per availability zone."
  value       = aws_subnet.private[*].id
}

output "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets, in the order of private_subnet_ids."
  value       = aws_subnet.private[*].cidr_block
}

output "private_route_table_ids" {
  description = "IDs of the private route tables (the VPN propagates the Azure routes into them)."
  value       = aws_route_table.private[*].id
}

output "nat_public_ips" {
  description = "Public IPv4 addresses the private subnets reach the internet from."
  value       = aws_eip.nat[*].public_ip
}
