#!/usr/bin/env bash
# Installs what the test suite needs into .tools/bin (idempotent):
# versitygw, a real S3-compatible server the S3 tests start on loopback;
# curl and jq, which the README walkthrough uses (cmd/custody/readme_test.go
# runs it), with apt-get when they are missing; chromium and poppler-utils
# (pdfinfo), which the report tests open and print report.html with
# (internal/report/browser_test.go); python3 with the cryptography package
# and openssl, which run the independent verifier of docs/ledger-format.md;
# the Genesys JavaScript SDK into .tools/jssdk (below).
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
# openssl: its 'ts -verify' checks custody's stored RFC 3161 tokens
# (internal/tsa, the attest_* scripts, the ledger-format appendix).
# python3 with the cryptography package runs the independent verifier
# printed in docs/ledger-format.md (internal/ledger, internal/verify: the
# tests that hold custody to it skip without them).
# command:package pairs
for pair in curl:curl jq:jq openssl:openssl chromium:chromium pdfinfo:poppler-utils python3:python3; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ! command -v python3 >/dev/null || ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
  missing+=(python3-cryptography)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get (the README walkthrough, the report tests and the independent verifier use them)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null || ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"; }; then
    echo "could not install ${missing[*]}: install them with your package manager" >&2
    exit 1
  fi
fi
# A python3 that is not the system's (pyenv, a virtualenv) does not see
# the system's python3-cryptography.
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
  echo "$(command -v python3) lacks the cryptography package, which the independent verifier of docs/ledger-format.md needs: install it for that python3 (python3 -m pip install cryptography)" >&2
  exit 1
fi
# The official Genesys Cloud JavaScript SDK, pinned with its lock file
# (cmd/custody/testdata/jssdk), into .tools/jssdk: cmd/custody's
# TestJSSDKClient drives custody sim serve with it, and internal/bench's
# js-sdk row (`custody bench export`) exports with it. Without node those
# tests skip (loudly), so node missing is not an error here.
jssdk="${CUSTODY_JSSDK:-$(dirname "$tools")/jssdk}"
pin=cmd/custody/testdata/jssdk
if ! command -v npm >/dev/null; then
  echo "node/npm not found: the JavaScript SDK test will be skipped" >&2
elif ! cmp -s "$pin/package-lock.json" "$jssdk/package-lock.json" || [ ! -f "$jssdk/node_modules/purecloud-platform-client-v2/package.json" ]; then
  echo "installing the Genesys JavaScript SDK into $jssdk" >&2
  mkdir -p "$jssdk"
  cp "$pin/package.json" "$pin/package-lock.json" "$jssdk/"
  (cd "$jssdk" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
