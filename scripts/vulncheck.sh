#!/usr/bin/env bash
# govulncheck over every package, with nothing reached but the Go module
# proxy. The vulnerability database's own server (vuln.go.dev) is not
# reachable from CI, but its source is a Go module: golang.org/x/vulndb holds
# every report as OSV JSON (data/osv) and the tool that indexes them into the
# database format govulncheck reads (cmd/indexdb). Both come through the
# proxy; the index is rebuilt only when the vulndb version changes.
#
# Findings are what govulncheck says the code reaches. Those listed in
# scripts/vulncheck-accepted.txt, each with the reason it does not apply,
# are reported but do not fail; anything else exits 1.
#   VULNCHECK_VERSION  govulncheck's version (default below)
#   VULNDB_VERSION     golang.org/x/vulndb's version (default: latest)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
vulncheck=${VULNCHECK_VERSION:-v1.9.0}
vulndb=${VULNDB_VERSION:-latest}
db=$root/.build/vulndb
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Outside the module, so go.mod and go.sum stay as they are.
info=$(cd "$tmp" && go mod download -json "golang.org/x/vulndb@$vulndb")
field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" <<<"$info"; }
src=$(field Dir)
version=$(field Version)
if [ "$(cat "$db/version" 2>/dev/null)" != "$version" ]; then
  echo "vulncheck: indexing golang.org/x/vulndb@$version ($(ls "$src/data/osv" | wc -l) reports)"
  rm -rf "$db"
  (cd "$tmp" && go run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$src/data/osv" -out "$db")
  echo "$version" >"$db/version"
fi

# Installed, not run with go run, which would turn its exit code 3 (found
# vulnerabilities) into 1 (failed).
GOBIN=$tmp go install "golang.org/x/vuln/cmd/govulncheck@$vulncheck"
rc=0
"$tmp/govulncheck" -db "file://$db" ./... >"$tmp/report" || rc=$?
cat "$tmp/report"
case $rc in
0) echo "vulncheck: clean (golang.org/x/vulndb@$version)"; exit 0 ;;
3) ;; # vulnerabilities found: sorted out below
*) echo "vulncheck: govulncheck failed (exit $rc)"; exit "$rc" ;;
esac

accepted=$(sed -n 's/^\(GO-[0-9]*-[0-9]*\)[[:space:]].*/\1/p' scripts/vulncheck-accepted.txt | sort -u)
found=$(sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9]*-[0-9]*\)$/\1/p' "$tmp/report" | sort -u)
new=$(comm -23 <(echo "$found") <(echo "$accepted") | sed '/^$/d')
gone=$(comm -13 <(echo "$found") <(echo "$accepted") | sed '/^$/d')
if [ -n "$gone" ]; then
  echo "vulncheck: no longer reported, remove from scripts/vulncheck-accepted.txt:" $gone
fi
if [ -n "$new" ]; then
  echo "vulncheck: FAILED (golang.org/x/vulndb@$version): the code reaches" $new
  exit 1
fi
echo "vulncheck: passed (golang.org/x/vulndb@$version): every finding is accepted in scripts/vulncheck-accepted.txt:" $found
