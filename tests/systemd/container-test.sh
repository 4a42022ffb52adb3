#!/usr/bin/env bash
# The units under a real systemd: a minimal Debian tree (debootstrap from this machine's Debian
# mirror, cached), the project installed into it from wheels, booted with `systemd-nspawn -b`,
# and checked with systemd as PID 1. `make systemd-test` runs it; it is not part of `make test`
# (it needs root, a Debian mirror and a minute or two).
#
# Usage: container-test.sh PYTHON   (the project venv's python: it builds the wheels and runs
#                                    the mail lab on host loopback, which the container shares)
# FEEDBACKD_SYSTEMD_CACHE: where the Debian tree and the wheels are kept between runs.
set -euo pipefail

PY=${1:?usage: container-test.sh PYTHON}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${FEEDBACKD_SYSTEMD_CACHE:-/var/cache/feedbackd-systemd-test}
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
PACKAGES=systemd,systemd-sysv,python3,python3-venv
BASE=$CACHE/$SUITE
TREE=$CACHE/run
WORK=$(mktemp -d /tmp/feedbackd-systemd-test.XXXXXX)
PASSED=0 FAILED=0 NSPAWN="" LAB=""

say() { printf '%s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); say "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL: $*"; }

[ "$(id -u)" = 0 ] || { say "run as root (systemd-nspawn and debootstrap need it)"; exit 2; }

cleanup() {
    if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
        inside systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 1 30); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 1; done
        kill "$NSPAWN" 2>/dev/null || true
        wait "$NSPAWN" 2>/dev/null || true
    fi
    if [ -n "$LAB" ]; then kill "$LAB" 2>/dev/null || true; wait "$LAB" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# -- tools ------------------------------------------------------------------------------------
missing=""
command -v debootstrap >/dev/null || missing="$missing debootstrap"
command -v systemd-nspawn >/dev/null || missing="$missing systemd-container"
if [ -n "$missing" ]; then
    say "installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing
fi

# -- the minimal Debian tree, once ------------------------------------------------------------
mirror=$(awk -v s="$SUITE" '/^URIs:/ {u = $2}
    /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == s) {print u; exit}}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk -v s="$SUITE" '$1 == "deb" && $3 == s {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { say "no Debian mirror for $SUITE in /etc/apt/sources.list*"; exit 2; }
stamp="$SUITE minbase $PACKAGES"
if [ "$(cat "$BASE/.feedbackd-systemd-test" 2>/dev/null)" != "$stamp" ]; then
    say "debootstrap $SUITE (minbase + $PACKAGES) from $mirror into $BASE"
    rm -rf "$BASE" "$BASE.partial"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$BASE.partial" "$mirror" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 2; }
    echo "$stamp" >"$BASE.partial/.feedbackd-systemd-test"
    mv "$BASE.partial" "$BASE"
fi
say "tree: $BASE ($(chroot "$BASE" systemd --version | head -1)); /bin/kill: \
$([ -e "$BASE/bin/kill" ] || [ -e "$BASE/usr/bin/kill" ] && echo present || echo absent)"

# -- wheels: the dependencies once (per pyproject.toml), the project every run -----------------
mkdir -p "$CACHE/wheels"
deps=$(sha256sum "$REPO/pyproject.toml" | cut -c1-16)
if [ "$(cat "$CACHE/wheels/.deps" 2>/dev/null)" != "$deps" ]; then
    "$PY" -m pip wheel -q -w "$CACHE/wheels" "$REPO" >"$WORK/wheels.log" 2>&1 ||
        { cat "$WORK/wheels.log"; exit 2; }
    echo "$deps" >"$CACHE/wheels/.deps"
fi
rm -f "$CACHE"/wheels/feedbackd-*.whl
"$PY" -m pip wheel -q --no-deps -w "$CACHE/wheels" "$REPO" >"$WORK/wheels.log" 2>&1 ||
    { cat "$WORK/wheels.log"; exit 2; }
say "wheels: $(cd "$CACHE/wheels" && ls ./*.whl | wc -l) in $CACHE/wheels"

# -- a fresh copy of the tree with the project, its units and a configuration ------------------
rm -rf "$TREE"
cp -a --reflink=auto "$BASE" "$TREE"
cp -r "$CACHE/wheels" "$TREE/wheels"
systemd-nspawn -q --register=no --keep-unit -D "$TREE" sh -c 'python3 -m venv /opt/feedbackd/venv &&
    /opt/feedbackd/venv/bin/pip install -q --no-index --find-links /wheels feedbackd' \
    >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; exit 2; }
install -m 0644 "$REPO"/systemd/feedbackd.service "$REPO"/systemd/feedbackd@.service \
    "$TREE/etc/systemd/system/"

"$PY" "$REPO/tests/systemd/lab_up.py" "$WORK/lab" >"$WORK/lab.log" 2>&1 &
LAB=$!
for _ in $(seq 1 100); do [ -e "$WORK/lab/ready" ] && break; sleep 0.2; done
[ -e "$WORK/lab/ready" ] || { cat "$WORK/lab.log"; say "the mail lab did not start"; exit 2; }
closed_port=$("$PY" -c 'from daemon.lab.dovecot import free_port; print(free_port())')

etc=$TREE/etc/feedbackd
install -d -m 0755 "$etc"
install -m 0644 "$REPO/rules.yaml" "$etc/rules.yaml"
cp -r "$REPO/templates" "$etc/templates" && chmod -R a+rX "$etc/templates"
install -m 0644 "$WORK/lab/ca.pem" "$etc/ca.pem"
env_file() {  # NAME ADDRESS [extra KEY=value lines]
    local name=$1 address=$2; shift 2
    {
        grep -v '^FEEDBACKD_IMAP_PORT=' "$WORK/lab/lab.env" || true
        printf '%s\n' "FEEDBACKD_IMAP_USER=$address" "FEEDBACKD_SMTP_USER=$address" \
            "FEEDBACKD_ADDRESS=$address" "FEEDBACKD_IMAP_CA_FILE=/etc/feedbackd/ca.pem" \
            "FEEDBACKD_SMTP_CA_FILE=/etc/feedbackd/ca.pem" \
            "FEEDBACKD_RULES=/etc/feedbackd/rules.yaml" \
            "FEEDBACKD_TEMPLATES=/etc/feedbackd/templates" "$@"
    } >"$etc/$name.env"
    chmod 0600 "$etc/$name.env"
    local prefix=""; [ "$name" = feedbackd ] || prefix="$name."
    install -m 0600 "$WORK/lab/password" "$etc/${prefix}imap-password"
    install -m 0600 "$WORK/lab/password" "$etc/${prefix}smtp-password"
}
imap_port=$(sed -n 's/^FEEDBACKD_IMAP_PORT=//p' "$WORK/lab/lab.env")
env_file feedbackd single@example.test "FEEDBACKD_IMAP_PORT=$imap_port"
env_file sales sales@example.test "FEEDBACKD_IMAP_PORT=$imap_port"
env_file outage outage@example.test "FEEDBACKD_IMAP_PORT=$closed_port"
env_file broken broken@example.test "FEEDBACKD_IMAP_PORT=$imap_port"
sed -i '/^FEEDBACKD_IMAP_HOST=/d' "$etc/broken.env"   # a config error: exit 78

# -- boot --------------------------------------------------------------------------------------
systemd-nspawn -q --register=no --keep-unit -D "$TREE" -M feedbackd-test -b \
    --console=passive >"$WORK/boot.log" 2>&1 &
NSPAWN=$!
children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
leader=""
for _ in $(seq 1 100); do
    for c in $(children "$NSPAWN"); do
        if [ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ]; then leader=$c; fi
        for g in $(children "$c"); do
            [ "$(cat /proc/"$g"/comm 2>/dev/null)" = systemd ] && leader=$g
        done
    done
    [ -n "$leader" ] && break
    kill -0 "$NSPAWN" 2>/dev/null || break
    sleep 0.2
done
[ -n "$leader" ] || { cat "$WORK/boot.log"; say "FAIL: the container did not boot"; exit 1; }
inside() {
    nsenter --target "$leader" --mount --uts --ipc --net --pid -- \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= "$@"
}
state=""
for _ in $(seq 1 120); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.5
done
say "booted: $(inside systemctl --version | head -1) as PID 1, system $state"
show() { inside systemctl show -P "$2" "$1"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# -- the checks --------------------------------------------------------------------------------
t0=$(ms)
if inside systemctl start feedbackd; then
    pass "feedbackd started with the lab reachable in $(($(ms) - t0)) ms: $(show feedbackd ActiveState); status: $(show feedbackd StatusText)"
else
    fail "feedbackd did not start: $(inside journalctl -u feedbackd -n 20 --no-pager)"
fi
t0=$(ms)
if inside systemctl start feedbackd@outage; then
    sleep 4
    text=$(show feedbackd@outage StatusText)
    if [ "$(show feedbackd@outage ActiveState)" = active ] && [[ $text == *unreachable* ]]; then
        pass "feedbackd@outage (IMAP down) active after $(($(ms) - t0)) ms; status: $text"
    else
        fail "feedbackd@outage: $(show feedbackd@outage ActiveState); status: $text"
    fi
else
    fail "feedbackd@outage did not start: $(inside journalctl -u feedbackd@outage -n 20 --no-pager)"
fi

sleep 2
t0=$(ms)
if inside systemctl reload feedbackd; then
    took=$(($(ms) - t0))
    if inside journalctl -u feedbackd --no-pager | grep -q "reloaded rules from"; then
        pass "systemctl reload feedbackd returned 0 after the reload ($took ms; logged before it returned)"
    else
        fail "systemctl reload returned 0 but the daemon logged no reload"
    fi
else
    fail "systemctl reload feedbackd failed: $(inside journalctl -u feedbackd -n 20 --no-pager)"
fi
cp "$etc/rules.yaml" "$WORK/rules.good"
printf '\n  this: is [broken\n' >>"$etc/rules.yaml"
t0=$(ms)
if inside systemctl reload feedbackd 2>"$WORK/reload.err"; then
    fail "systemctl reload with broken rules returned 0"
else
    pass "systemctl reload with broken rules failed after $(($(ms) - t0)) ms ($(head -1 "$WORK/reload.err")); feedbackd $(show feedbackd ActiveState); status: $(show feedbackd StatusText)"
    inside journalctl -u feedbackd -n 4 --no-pager -o cat | sed 's/^/    /'
fi
cp "$WORK/rules.good" "$etc/rules.yaml"

if inside systemctl start feedbackd@broken 2>/dev/null; then
    fail "feedbackd@broken (no FEEDBACKD_IMAP_HOST) started"
else
    sleep 15   # RestartSec=10s: a restart would have come by now
    status=$(show feedbackd@broken ExecMainStatus)
    restarts=$(show feedbackd@broken NRestarts)
    active=$(show feedbackd@broken ActiveState)
    if [ "$status" = 78 ] && [ "$restarts" = 0 ] && [ "$active" = failed ]; then
        pass "feedbackd@broken exited 78 and stayed $active, $restarts restarts after 15 s"
    else
        fail "feedbackd@broken: exit $status, $restarts restarts, $active"
    fi
fi

if inside systemctl start feedbackd@sales && sleep 3 &&
    [ "$(show feedbackd ActiveState)/$(show feedbackd@sales ActiveState)" = active/active ]; then
    pass "feedbackd and feedbackd@sales active side by side; stores: $(cd "$TREE/var/lib/private" && ls -d */store.json | tr '\n' ' ')"
else
    fail "feedbackd $(show feedbackd ActiveState), feedbackd@sales $(show feedbackd@sales ActiveState): $(inside journalctl -u feedbackd@sales -n 10 --no-pager)"
fi

# An admin's command on one instance, from a root shell that sourced nothing: `--instance`
# must find that instance's store (`store check` names the files it read).
out=$(inside /opt/feedbackd/venv/bin/feedbackd --instance sales store check 2>&1)
if [[ $out == /var/lib/feedbackd-sales/store.json:* ]]; then
    pass "feedbackd --instance sales store check read the instance's store: ${out%%$'\n'*}"
else
    fail "feedbackd --instance sales store check: $out"
fi

say "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
