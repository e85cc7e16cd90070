#!/usr/bin/env bash
# terraform validate of every environment against the real provider schemas,
# without the provider registry: the providers are built from source with
# `go install` (outside CI: the AWS provider alone takes ~30 min and ~11 GiB
# here) and served to terraform from a filesystem mirror through a private
# TF_CLI_CONFIG_FILE. Prints what it skips and why; exits 0 when it skipped
# because provider binaries are missing, non-zero when validation fails.
#
#   deploy/terraform/validate.sh              validate staging and production
#   deploy/terraform/validate.sh --init-only  only build the mirror and run init
#                                             (checks the layout; any executables
#                                             named terraform-provider-* will do)
#
# Environment:
#   TF_PROVIDER_BIN  directory with terraform-provider-{aws,azurerm,random}
#                    (default: $(go env GOPATH)/bin, where go install puts them)
#   TF               terraform or tofu binary (default: terraform, else tofu)
set -euo pipefail
cd "$(dirname "$0")"

# The providers, built once by hand (`make validate-terraform` prints these
# commands for any that are missing):
#   go install github.com/hashicorp/terraform-provider-aws@v1.60.1-0.20260602190131-5f2286d6d836
#   go install github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926
#   go install github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260513075824-f8d869dc98d9
# Their v2+ release tags do not follow Go's module path rule, so the proxy
# serves them only as pseudo-versions of commits. Each label below is the
# newest release in that commit's CHANGELOG (azurerm and random: the release
# commits' successors with no new entry; aws: 6.47.0 plus commits toward the
# unreleased 6.48.0, a superset of 6.47.0's schema). random's
# go.mod declares the old terraform-providers path; the proxy refuses the
# hashicorp one for it. Each binary is put in the mirror under its label,
# which must satisfy the constraints in versions.tf; a binary built from
# another commit is refused, so a label never names the wrong schema.
#        type     label   module                                                 pseudo-version
providers=(
  "aws      6.47.0 github.com/hashicorp/terraform-provider-aws              v1.60.1-0.20260602190131-5f2286d6d836"
  "azurerm  5.2.0  github.com/hashicorp/terraform-provider-azurerm          v1.44.1-0.20260824201233-fae580791926"
  "random   3.9.0  github.com/terraform-providers/terraform-provider-random v1.3.2-0.20260513075824-f8d869dc98d9"
)

init_only=false
case "${1:-}" in
  --init-only) init_only=true ;;
  "") ;;
  *) echo "usage: $0 [--init-only]" >&2; exit 2 ;;
esac

bin_dir="${TF_PROVIDER_BIN:-$(go env GOPATH 2>/dev/null)/bin}"
tf="${TF:-}"
if [ -z "$tf" ]; then
  if command -v terraform >/dev/null; then tf=terraform
  elif command -v tofu >/dev/null; then tf=tofu
  else echo "SKIPPED terraform validate: neither terraform nor tofu is installed"; exit 0
  fi
fi
# OpenTofu resolves hashicorp/aws on its own registry host.
host=registry.terraform.io
if TF_CLI_CONFIG_FILE=/dev/null "$tf" version 2>/dev/null | head -n1 | grep -q '^OpenTofu'; then host=registry.opentofu.org; fi
platform="$(go env GOOS 2>/dev/null || uname -s | tr '[:upper:]' '[:lower:]')_$(go env GOARCH 2>/dev/null || echo amd64)"

missing=()
for p in "${providers[@]}"; do
  read -r name _ module pin <<<"$p"
  [ -x "$bin_dir/terraform-provider-$name" ] || missing+=("$name (go install $module@$pin)")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIPPED terraform validate of envs/staging and envs/production: no provider binary in $bin_dir for:"
  printf '  - %s\n' "${missing[@]}"
  echo "(cd deploy && go test ./terraform/ still checks every module and environment offline)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Unpacked mirror layout: <host>/<namespace>/<type>/<version>/<os_arch>/terraform-provider-<type>_v<version>
mirror="$work/mirror"
for p in "${providers[@]}"; do
  read -r name version module pin <<<"$p"
  dir="$mirror/$host/hashicorp/$name/$version/$platform"
  mkdir -p "$dir"
  cp "$bin_dir/terraform-provider-$name" "$dir/terraform-provider-${name}_v$version"
  built=$(go version -m "$bin_dir/terraform-provider-$name" 2>/dev/null | awk '$1 == "mod" {print $2 "@" $3; exit}' || true)
  echo "provider $name $version <- $bin_dir/terraform-provider-$name (${built:-not a Go build})"
  # --init-only runs with stand-ins; a real validation needs the pinned build.
  if ! $init_only && [ "$built" != "$module@$pin" ]; then
    echo "terraform-provider-$name was built from ${built:-something other than Go}, not $module@$pin: the label $version would be wrong" >&2
    exit 1
  fi
done
cat >"$work/terraformrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["$host/hashicorp/*"]
  }
}
EOF

# A copy, so lock files and .terraform never land in the repository.
mkdir -p "$work/tree"
cp -R envs modules "$work/tree/"
status=0
for env in staging production; do
  echo "== $env"
  (
    cd "$work/tree/envs/$env"
    export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 TF_INPUT=0
    "$tf" init -backend=false -no-color >init.log 2>&1 || { cat init.log; exit 1; }
    if $init_only; then echo "init ok (mirror layout accepted)"; exit 0; fi
    "$tf" validate -no-color
  ) || status=1
done
exit $status
