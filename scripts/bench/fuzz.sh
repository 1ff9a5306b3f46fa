#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/) for a fixed number of runs each and fails on any crash:
#   yaml_documents  the manifest reader (parse_documents, check_limits, decode)
#   expr_template   the template splitter and the expression evaluator (with its budget)
#   helm_template   Helm's template language: parser and executor (with its limits)
# libFuzzer's coverage instrumentation works on the stable toolchain when built for an explicit
# --target (so build scripts are not instrumented), which is what cargo-fuzz does on nightly.
# Usage: scripts/bench/fuzz.sh [RUNS]   (default 200000 per target)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-200000}"
target_dir="${CARGO_TARGET_DIR:-target}/fuzz"
triple="$(rustc -vV | sed -n 's/^host: //p')"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --quiet --release --bins --manifest-path fuzz/Cargo.toml --target "$triple" --target-dir "$target_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/yaml" "$work/expr" "$work/helm" "$target_dir/artifacts"
printf '%s' '{{ range $i, $v := .Values.list }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $v | printf "%s" }}{{ end }}' >"$work/helm/range"
printf '%s' '{{- define "x" }}{{ .a }}{{ end -}}{{ include "x" (dict "a" 1) | nindent 2 }}{{ toYaml .Values | quote }}' >"$work/helm/include"
cp examples/*.yaml "$work/yaml/"
# Seeds written here (a local fuzz/corpus, ignored by git, adds its inputs when present).
printf '%s' 'v${{ vars.major + 1 }}-${{ ctx.stage | upper }}' >"$work/expr/vars"
printf '%s' '${{ quote(imageFrom("ghcr.io/x/app").Tag) }} ${% if true %}' >"$work/expr/functions"
if [ -d fuzz/corpus/expr_template ]; then cp fuzz/corpus/expr_template/* "$work/expr/" 2>/dev/null || true; fi
run() {
  local name="$1" corpus="$2" max_len="$3"
  local started=$SECONDS
  "$target_dir/$triple/release/$name" -runs="$runs" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$target_dir/artifacts/$name-" "$corpus" >"$work/$name.log" 2>&1 || { tail -40 "$work/$name.log"; echo "$name: CRASH (input kept in $target_dir/artifacts/)" >&2; exit 1; }
  echo "$name: $runs runs, no crash, $((SECONDS - started)) s, corpus grown to $(find "$corpus" -type f | wc -l) inputs"
}
run yaml_documents "$work/yaml" 4096
run expr_template "$work/expr" 1024
run helm_template "$work/helm" 2048
