#!/usr/bin/env bash
# Peer-client check: each sandbox driven by a client library StoreSync did not
# write, installed from PyPI into a throwaway virtual environment. A package
# that cannot be installed fails the check: a fidelity check that silently
# skips would hide exactly the regressions it is here for.
#
# Usage: .ci/peer-clients/run.sh [path/to/storesync]   (default target/debug/storesync)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/storesync}"
[ -x "$bin" ] || { echo "peer-clients: no storesync binary at $bin" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
# lazop-sdk writes its error log under $HOME/logs: keep it in the throwaway directory.
export HOME="$work"

failed=0
passed=0
for marketplace in shopee tiktok lazada; do
  out="$work/$marketplace.out"
  "$bin" sandbox "$marketplace" --port 0 >"$out" 2>"$work/$marketplace.err" &
  pid=$!
  pids+=("$pid")
  base=""
  for _ in $(seq 1 100); do
    base="$(sed -n 's/.* sandbox listening on \(http:[^ ]*\).*/\1/p' "$out")"
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$base" ]; then
    echo "peer-clients: the $marketplace sandbox did not start" >&2
    cat "$work/$marketplace.err" >&2
    exit 1
  fi
  creds="$(head -n1 "$out")"
  if "$work/venv/bin/python" "$here/check.py" "$marketplace" "$base" "$creds"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

echo "peer-clients: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "peer-clients: a published client disagrees with a sandbox" >&2
  exit 1
fi
