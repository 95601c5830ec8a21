#!/usr/bin/env bash
# Installs what the test suite needs into .tools/bin (idempotent):
# versitygw, a real S3-compatible server the S3 tests start on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${CUSTODY_TOOLS:-$PWD/.tools/bin}"
mkdir -p "$tools"
VERSITYGW_VERSION=v1.8.0
if [ ! -x "$tools/versitygw" ] || ! grep -qx "$VERSITYGW_VERSION" "$tools/.versitygw-version" 2>/dev/null; then
  echo "installing versitygw $VERSITYGW_VERSION into $tools (about a minute)" >&2
  GOBIN="$tools" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  echo "$VERSITYGW_VERSION" > "$tools/.versitygw-version"
fi
