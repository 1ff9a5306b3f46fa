#!/usr/bin/env bash
# The project's test command (README, .ci/run). Installs what the tests need, runs every test
# of the workspace, and stops whatever it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need beyond the machine image (git, PostgreSQL 15 and kubectl are
# preinstalled). Installed only when missing and when running as root.
packages=(postgresql-15 docker-registry apache2-utils openssl python3 python3-venv prometheus sqlite3 chromium chromium-driver
  golang-1.19-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev)
missing=()
for pkg in "${packages[@]+"${packages[@]}"}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing packages (install as root): ${missing[*]}" >&2
  fi
fi

# axe-core (npm) for the UI's accessibility checks, pinned, installed once into target/tools.
axe=target/tools/axe-core-4.10.3
if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null; then
  mkdir -p "$axe"
  npm install --prefix "$axe" --silent --no-audit --no-fund axe-core@4.10.3
fi
export CONVOY_AXE_JS="$PWD/$axe/node_modules/axe-core/axe.min.js"
# A real OpenID provider (npm oidc-provider on the machine's Node) for the single sign-on tests.
oidc=target/tools/oidc-provider-9.13.3
if [ ! -d "$oidc/node_modules/oidc-provider" ] && command -v npm >/dev/null; then
  mkdir -p "$oidc"
  npm install --prefix "$oidc" --silent --no-audit --no-fund oidc-provider@9.13.3
fi
export CONVOY_OIDC_PROVIDER_DIR="$PWD/$oidc"

# Go's text/template with Sprig (Debian's), for the Helm renderer's differential test.
if [ -x /usr/lib/go-1.19/bin/go ] && [ -d /usr/share/gocode/src/github.com/Masterminds/sprig ]; then
  (cd scripts/bench/helm-baseline && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/../../../target/tools/gocache" \
    /usr/lib/go-1.19/bin/go build -o ../../../target/tools/helm-baseline .)
  export CONVOY_HELM_BASELINE="$PWD/target/tools/helm-baseline"
fi

# The Kubernetes manifests render and validate (offline schemas).
scripts/check-deploy.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi
