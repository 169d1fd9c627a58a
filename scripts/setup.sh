#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) to build, test and demo hadhcp. Idempotent and non-interactive.
#   bash scripts/setup.sh             packages + pnpm install + build
#   bash scripts/setup.sh --no-build  packages + pnpm install (scripts/test.sh builds as its own step)
# Installs the real peers the lab tests talk to, and makes sure the Debian services among them
# (isc-dhcp-server, keepalived, kea-dhcp4-server) neither run nor start on the host: they would take
# UDP 67 and VRRP on the host and break the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=1
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (installs packages; the lab needs network namespaces)" >&2
  exit 1
fi

PACKAGES=(
  keepalived isc-dhcp-server isc-dhcp-relay isc-dhcp-client udhcpc dhcpcd-base
  kea-dhcp4-server kea-admin tcpdump tshark nftables iproute2 iputils-ping psmisc
  python3 make g++
)
# Services those packages ship that must stay off on the host.
SERVICES=(isc-dhcp-server isc-dhcp-server6 keepalived kea-dhcp4-server)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  # tshark asks whether non-root users may capture; answer once, here.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  # A policy-rc.d that refuses to start our services while apt runs (Debian policy: exit 101 = forbidden).
  # Kept if one exists already (containers ship one that refuses everything).
  POLICY=/usr/sbin/policy-rc.d
  if [ ! -e "$POLICY" ]; then
    cat >"$POLICY" <<'POL'
#!/bin/sh
# written by hadhcp scripts/setup.sh for the duration of apt-get install
case "$1" in isc-dhcp-server|isc-dhcp-server6|keepalived|kea-dhcp4-server) exit 101 ;; esac
exit 0
POL
    chmod 755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}"
  if [ ! -s "$POLICY" ] || grep -q 'hadhcp scripts/setup.sh' "$POLICY"; then rm -f "$POLICY"; fi
  trap - EXIT
else
  log "Debian packages already installed"
fi

# Stop and disable the services in whatever init system runs (systemd, sysv, or none in a container).
for s in "${SERVICES[@]}"; do
  if [ -d /run/systemd/system ] && systemctl list-unit-files "$s.service" >/dev/null 2>&1; then
    systemctl disable --now "$s.service" >/dev/null 2>&1 || true
    systemctl mask "$s.service" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$s" ]; then
    "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    update-rc.d "$s" disable >/dev/null 2>&1 || true
  fi
done

NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
NODE_MINOR=$(node -p 'process.versions.node.split(".")[1]')
if [ "$NODE_MAJOR" -lt 20 ] || { [ "$NODE_MAJOR" -eq 20 ] && [ "$NODE_MINOR" -lt 19 ]; }; then
  echo "setup.sh: Node.js >= 20.19 needed, found $(node --version) (Debian 12 ships 18: use NodeSource's nodejs 20)" >&2
  exit 1
fi

if ! command -v pnpm >/dev/null; then
  # corepack cannot fetch pnpm on the CI network; the npm registry can.
  log "installing pnpm 10"
  npm install -g --no-fund --no-audit pnpm@10
fi

# The native builds (node-gyp for native/, raw-socket, better-sqlite3) print compiler warnings from Node's own
# headers and a prebuild download that cannot reach github.com here: noise a newcomer would wonder about. The
# output goes to a file; a failed install prints it whole.
install_log="$(mktemp -t hadhcp-pnpm-install.XXXXXX)"
log "pnpm install (full output: $install_log)"
if ! CI=true pnpm install --frozen-lockfile >"$install_log" 2>&1; then
  cat "$install_log" >&2
  echo "setup.sh: pnpm install failed (its output above, also in $install_log)" >&2
  exit 1
fi
grep -E '^(Packages:|Done in)' "$install_log" || true
if [ "$BUILD" -eq 1 ]; then
  log "pnpm build"
  pnpm build
fi
log "setup done"
