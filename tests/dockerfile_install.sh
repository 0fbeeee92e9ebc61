#!/usr/bin/env bash
# No Docker engine runs in CI, so this checks what `docker build` would rely
# on: every install-deps.sh group the Dockerfile names exists, and its
# packages are installable (scripts/test.sh installed them on this machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
groups=$(grep -oE 'install-deps\.sh [a-z ]+' "$root/Dockerfile" | awk '{$1=""; print}')
[[ -n "$groups" ]] || { echo "Dockerfile does not use install-deps.sh" >&2; exit 1; }
for group in $groups; do
  list=$(bash -c "source <(sed -n '/^declare -A groups/,/^)/p' '$root/scripts/install-deps.sh'); echo \${groups[$group]:-}")
  [[ -n "$list" ]] || { echo "unknown install-deps group '$group'" >&2; exit 1; }
  for pkg in $list; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
      apt-cache show "$pkg" >/dev/null 2>&1 || { echo "no package $pkg ($group)" >&2; exit 1; }
    fi
  done
  echo "group $group: ok"
done
# The runtime image needs CA certificates (TLS to Yahoo) and tzdata (dating bars).
sed -n '/^declare -A groups/,/^)/p' "$root/scripts/install-deps.sh" | grep -A2 '\[runtime\]' | grep -q 'ca-certificates tzdata'
echo "runtime has ca-certificates and tzdata"
