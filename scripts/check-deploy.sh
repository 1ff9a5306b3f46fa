#!/usr/bin/env bash
# The Kubernetes manifests in deploy/: rendered by kustomize (kubectl's), then validated offline
# against Kubernetes' OpenAPI schemas, strictly (unknown fields are errors), for the oldest and a
# recent supported Kubernetes. The validator is PyPI's kubernetes-validate (it bundles the JSON
# schemas), pinned, installed once into target/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

validator_version=1.37.0
kubernetes_versions=(1.29.0 1.34.0)
venv=target/tools/kubernetes-validate-$validator_version
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$validator_version"
fi

out=target/deploy
mkdir -p "$out"
status=0
for kustomization in deploy/base deploy/overlays/*/; do
  name=$(basename "$kustomization")
  kubectl kustomize "$kustomization" > "$out/$name.yaml"
  for version in "${kubernetes_versions[@]}"; do
    if ! "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$out/$name.yaml"; then
      echo "deploy: $kustomization does not validate against Kubernetes $version" >&2
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "deploy: every kustomization renders and validates (Kubernetes ${kubernetes_versions[*]})"
exit $status
