#!/usr/bin/env bash
# Installs what the test suite needs into .tools/bin (idempotent):
# versitygw, a real S3-compatible server the S3 tests start on loopback;
# curl and jq, which the README walkthrough uses (cmd/custody/readme_test.go
# runs it), with apt-get when they are missing; chromium and poppler-utils
# (pdfinfo), which the report tests open and print report.html with
# (internal/report/browser_test.go).
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
missing=()
# command:package pairs
for pair in curl:curl jq:jq chromium:chromium pdfinfo:poppler-utils; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get (the README walkthrough and report tests use them)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null || ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"; }; then
    echo "could not install ${missing[*]}: install them with your package manager" >&2
    exit 1
  fi
fi
