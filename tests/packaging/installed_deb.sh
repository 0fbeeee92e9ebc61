#!/usr/bin/env bash
# Installs the Debian package on this machine with dpkg -i, checks what it
# installed as a user of the package would meet it, and purges it again so
# that the next run starts clean. Fails at the first thing that is wrong.
# scripts/test.sh runs it on the package scripts/package.sh made:
#
#   tests/packaging/installed_deb.sh build-pkg/backfilld_0.1.0_amd64.deb
#
# Run it on a CI or throwaway machine: it refuses to touch a backfilld
# package that was installed before it started.
set -euo pipefail

deb=$(realpath "${1:?usage: installed_deb.sh PACKAGE.deb}")
root=$(cd "$(dirname "$0")/../.." && pwd)
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi

fail() {
  echo "installed_deb: FAIL: $*" >&2
  exit 1
}
ok() {
  echo "installed_deb: ok: $*"
}

if dpkg-query -W -f='${Status}' backfilld 2>/dev/null | grep -q installed; then
  fail "a backfilld package is already installed here; remove it first" \
    "(dpkg --purge backfilld) or run this on a throwaway machine"
fi

# The package leaves its system user on purge, as Debian does; the test
# removes the one it caused, so that every run checks its creation.
user_existed=false
if getent passwd backfilld >/dev/null; then
  user_existed=true
fi
remove_user() {
  if ! $user_existed && getent passwd backfilld >/dev/null; then
    $sudo deluser --quiet --system backfilld >/dev/null 2>&1 || true
    $sudo delgroup --quiet --system backfilld >/dev/null 2>&1 || true
  fi
}
daemon_pid=""
pg_dir=""
log=""
stop_daemon() {
  if [[ -n $daemon_pid ]]; then
    $sudo kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
  fi
  if [[ -n $pg_dir ]]; then
    "$root/scripts/pg-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir" "$(cat "$pg_dir/data_root" 2>/dev/null || true)"
    pg_dir=""
  fi
  if [[ -n $log ]]; then
    rm -f "$log"
    log=""
  fi
}
purge() {
  stop_daemon
  $sudo dpkg --purge backfilld >/dev/null 2>&1 || true
  remove_user
}
trap purge EXIT

# -- the package file -----------------------------------------------------------

version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
# dpkg-shlibdeps ran: the libraries' packages, not only the listed ones.
for lib in libc6 libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 libpqxx-6.4 libcurl4 \
  libspdlog1.10 libcpp-httplib0.11 ca-certificates tzdata adduser; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
ok "Depends: $depends"

# -- installing ------------------------------------------------------------------

export DEBIAN_FRONTEND=noninteractive
if ! $sudo dpkg -i "$deb"; then
  # Missing dependencies leave it unconfigured; apt brings them.
  $sudo apt-get install -f -y -qq >/dev/null
fi
dpkg-query -W -f='${Status}' backfilld | grep -q "install ok installed" ||
  fail "not installed: $(dpkg-query -W -f='${Status}' backfilld)"
ok "installed backfilld $version"

conffiles=$(dpkg-query -W -f='${Conffiles}' backfilld)
for file in /etc/backfilld/backfilld.ini /etc/default/backfilld; do
  [[ $conffiles == *"$file "* ]] || fail "$file is not a conffile"
done
ok "conffiles: /etc/backfilld/backfilld.ini /etc/default/backfilld"

for file in /usr/bin/backfilld /lib/systemd/system/backfilld.service \
  /usr/share/backfilld/alerts.yml /usr/share/doc/backfilld/README.md; do
  [[ -f $file ]] || fail "$file not installed"
done
[[ -x /usr/bin/backfilld ]] || fail "/usr/bin/backfilld is not executable"
# The dashboard is packaged when the source tree has one.
if [[ -f $root/configs/grafana-dashboard.json ]]; then
  cmp -s "$root/configs/grafana-dashboard.json" \
    /usr/share/backfilld/grafana-dashboard.json ||
    fail "/usr/share/backfilld/grafana-dashboard.json is not the dashboard"
fi
# It may hold PGPASSWORD; systemd reads it as root.
[[ $(stat -c '%a %U' /etc/default/backfilld) == "600 root" ]] ||
  fail "/etc/default/backfilld is $(stat -c '%a %U' /etc/default/backfilld)"
ok "files in place"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd backfilld) ||
  fail "no backfilld user"
((uid < 1000)) || fail "backfilld is not a system user (uid $uid)"
[[ $shell == /usr/sbin/nologin ]] || fail "backfilld's shell is $shell"
getent group backfilld >/dev/null || fail "no backfilld group"
ok "system user backfilld (uid $uid, home $home, shell $shell)"

# Enabled (deb-systemd-helper's symlink), not started: no database yet.
wants=/etc/systemd/system/multi-user.target.wants/backfilld.service
[[ -L $wants ]] || fail "the unit is not enabled ($wants missing)"
ok "unit enabled"

# -- running the installed files -------------------------------------------------

# As a user of the package runs them: from /usr/bin, nothing of the build's
# environment, the configuration from /etc/backfilld.
clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
out=$("${clean_env[@]}" /usr/bin/backfilld --version) ||
  fail "backfilld --version failed"
[[ $(head -n1 <<<"$out") == "backfilld $version" ]] ||
  fail "--version says '$(head -n1 <<<"$out")', the package is $version"
ok "--version: $(tr '\n' ' ' <<<"$out")"

# As the unit's ExecStartPre runs it: as the backfilld user.
if ! out=$(cd / && $sudo runuser -u backfilld -- "${clean_env[@]}" \
  /usr/bin/backfilld check-config 2>&1); then
  fail "check-config as backfilld failed: $out"
fi
grep -q "(file /etc/backfilld/backfilld.ini)" <<<"$out" ||
  fail "check-config did not read /etc/backfilld/backfilld.ini: $out"
grep -q "^Configuration valid$" <<<"$out" || fail "check-config: $out"
ok "check-config as backfilld reads /etc/backfilld/backfilld.ini"

if command -v systemd-analyze >/dev/null; then
  if ! out=$(systemd-analyze verify /lib/systemd/system/backfilld.service 2>&1) ||
    grep -q backfilld <<<"$out"; then
    fail "systemd-analyze verify: $out"
  fi
  ok "systemd-analyze verify"
  score=$(systemd-analyze security --offline=true --no-pager \
    /lib/systemd/system/backfilld.service 2>&1 |
    sed -n 's/.*Overall exposure level for backfilld.service: \([0-9.]*\).*/\1/p')
  [[ -n $score ]] || fail "systemd-analyze security gave no score"
  ok "systemd-analyze security: exposure $score"
else
  echo "installed_deb: systemd-analyze not available; unit not verified"
fi

# The installed daemon as the unit runs it (the backfilld user, the
# installed configuration) against a throwaway PostgreSQL, until it is
# ready; then SIGTERM, which must end it with 0. No internet: the provider
# is a closed local port, and the empty database asks for nothing.
pg_dir=$(mktemp -d /tmp/backfilld-deb-pg.XXXXXX)
"$root/scripts/pg-cluster.sh" start "$pg_dir" backfilld_deb >/dev/null
metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_daemon=(setpriv --reuid=backfilld --regid=backfilld --init-groups
  -- "${clean_env[@]}" "BACKFILL_DB_URL=$(cat "$pg_dir/url")"
  "BACKFILL_METRICS_PORT=$metrics_port"
  BACKFILL_YAHOO_BASE_URL=http://127.0.0.1:9)
if [[ -n $sudo ]]; then
  as_daemon=("$sudo" "${as_daemon[@]}")
fi
log=$(mktemp /tmp/backfilld-deb-log.XXXXXX)
(cd / && exec "${as_daemon[@]}" /usr/bin/backfilld) >"$log" 2>&1 &
daemon_pid=$!
ready=false
for _ in $(seq 60); do
  if (cd / && "${as_daemon[@]}" /usr/bin/backfilld health) >/dev/null 2>&1; then
    ready=true
    break
  fi
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.5
done
$ready || fail "the installed daemon did not get ready: $(cat "$log")"
$sudo kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
((rc == 0)) || fail "the installed daemon exited $rc on SIGTERM: $(cat "$log")"
grep -q "listening for new transactions" "$log" ||
  fail "the installed daemon never listened: $(cat "$log")"
stop_daemon
ok "the installed daemon, as backfilld: ready (backfilld health), exit 0 on SIGTERM"

# -- installing again over it, as an upgrade does ------------------------------

# An administrator's changes survive: the edited conffile, a disabled unit.
echo "; a local change" | $sudo tee -a /etc/backfilld/backfilld.ini >/dev/null
# What `systemctl disable` does, which also works without systemd running.
$sudo rm "$wants"
$sudo dpkg -i "$deb" </dev/null >/dev/null || fail "installing again failed"
grep -q "^; a local change$" /etc/backfilld/backfilld.ini ||
  fail "installing again lost the local change to backfilld.ini"
[[ ! -L $wants ]] || fail "installing again enabled a disabled unit"
ok "installed again: the edited configuration and the disabled unit stay"

# -- purging ---------------------------------------------------------------------

trap - EXIT
$sudo dpkg --purge backfilld >/dev/null
for path in /usr/bin/backfilld /lib/systemd/system/backfilld.service \
  /etc/backfilld /etc/default/backfilld /usr/share/backfilld "$wants" \
  /etc/systemd/system/backfilld.service; do
  [[ ! -e $path && ! -L $path ]] || fail "$path left after purge"
done
getent passwd backfilld >/dev/null || fail "purge removed the backfilld user"
ok "purged; nothing left but the backfilld user (Debian keeps system users)"
remove_user
