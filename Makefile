# Checks that need more than `go test` (see docs/deploy.md).
.PHONY: validate-terraform build-image-offline

# terraform validate of both environments against provider binaries built
# from source; prints what it skips when they are missing. Never in CI.
validate-terraform:
	deploy/terraform/validate.sh

# FROM scratch image of the locally built binary with buildah (no daemon,
# no registry).
build-image-offline:
	deploy/docker/build-offline.sh
