#!/usr/bin/env bash
# hadhcp lab demo, in network namespaces on this machine (root; nothing outside the namespaces is touched):
#
#   srv (10.0.0.2) ---- lan0 ---- relay (10.0.0.1 | 10.1.0.1, dhcrelay) ---- lan1 ---- cli1 dhclient
#                                                                                 |--- cli2 udhcpc
#                                                                                 `--- cli3 dhcpcd
#
# SERVER=hadhcp (default) runs the built daemon (pnpm build first); SERVER=dhcpd runs ISC dhcpd as a
# stand-in with the same dhcpd.conf. KEEP=1 keeps the logs folder. Everything is removed on exit.
# TODO(lead): second router srv2 + keepalived.conf VIP, kill the master, show a client bound via the backup.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVER=${SERVER:-hadhcp}
P="hdemo$(( $$ % 1000 ))"
WORK=$(mktemp -d "/tmp/hadhcp-demo-XXXX")
PIDS=()
NSS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { echo "$P-$1"; }
inns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; done
  sleep 0.3
  for n in "${NSS[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespaces)" >&2; exit 1; }

addns() { ip netns add "$(ns "$1")"; NSS+=("$(ns "$1")"); inns "$1" ip link set lo up; }
# veth from namespace $1 (interface $2) into bridge $3 of the switch namespace (port $4)
plug() {
  ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns sw)"
  ip -n "$(ns sw)" link set "$4" master "$3" up
  ip -n "$(ns "$1")" link set "$2" up
}
# start a background process in a namespace, in its own process group, logging to $WORK/<name>.log
bg() { local n=$1 name=$2; shift 2; setsid ip netns exec "$(ns "$n")" "$@" >"$WORK/$name.log" 2>&1 & PIDS+=($!); }
waitfor() { # file regex seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for /$2/ in $1:" >&2; tail -20 "$1" >&2; return 1
}

say "building the lab ($P-*)"
addns sw
for b in lan0 lan1; do ip -n "$(ns sw)" link add name "$b" type bridge mcast_snooping 0; ip -n "$(ns sw)" link set "$b" up; done
addns srv; plug srv eth0 lan0 s0; inns srv ip addr add 10.0.0.2/24 dev eth0
inns srv ip route add 10.1.0.0/24 via 10.0.0.1
addns relay; plug relay eth0 lan0 r0; plug relay eth1 lan1 r1
inns relay ip addr add 10.0.0.1/24 dev eth0; inns relay ip addr add 10.1.0.1/24 dev eth1
for i in 1 2 3; do addns "cli$i"; plug "cli$i" eth0 lan1 "c$i"; ip -n "$(ns "cli$i")" link set eth0 address "02:00:00:00:01:0$i"; done
sleep 0.3

say "server: $SERVER on srv (10.0.0.2)"
case "$SERVER" in
  hadhcp)
    CLI="$ROOT/packages/cli/dist/main.js"
    [ -f "$CLI" ] || { echo "no $CLI: run pnpm build (or SERVER=dhcpd)" >&2; exit 1; }
    mkdir -p "$WORK/state"
    bg srv server node "$CLI" run --dhcpd "$HERE/dhcpd.conf" --state-dir "$WORK/state" --socket "$WORK/hadhcp.sock" --pretty
    for ((i = 0; i < 100; i++)); do [ -S "$WORK/hadhcp.sock" ] && break; sleep 0.1; done
    [ -S "$WORK/hadhcp.sock" ] || { echo "hadhcp did not start:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
    ;;
  dhcpd)
    : >"$WORK/dhcpd.leases"
    bg srv server dhcpd -f -d -4 -cf "$HERE/dhcpd.conf" -lf "$WORK/dhcpd.leases" -pf "$WORK/dhcpd.pid" eth0
    waitfor "$WORK/server.log" '^Server starting service' 15
    ;;
  *) echo "SERVER must be hadhcp or dhcpd" >&2; exit 2 ;;
esac

say "relay: dhcrelay on relay, clients' side eth1 -> server 10.0.0.2"
bg relay relay dhcrelay -d -4 -pf "$WORK/dhcrelay.pid" -id eth1 -iu eth0 10.0.0.2
waitfor "$WORK/relay.log" 'Sending on +Socket/fallback' 10

say "clients"
bg cli1 dhclient dhclient -d -1 -v -4 -sf "$HERE/client-hook.sh" -cf /dev/null \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" eth0
waitfor "$WORK/dhclient.log" 'bound to' 30
bg cli2 udhcpc udhcpc -f -q -n -i eth0 -s "$HERE/client-hook.sh" -x hostname:demo-udhcpc
waitfor "$WORK/udhcpc.log" 'lease of .* obtained' 30
# dhcpcd's /run/dhcpcd and /var/lib/dhcpcd are fixed paths: mount private copies over them.
mkdir -p "$WORK/dhcpcd/run" "$WORK/dhcpcd/db"
printf 'clientid\noption subnet_mask, routers\n' >"$WORK/dhcpcd.conf"
bg cli3 dhcpcd sh -c 'mkdir -p /run/dhcpcd && mount --bind "$0/run" /run/dhcpcd && mount --bind "$0/db" /var/lib/dhcpcd && exec dhcpcd "$@"' \
  "$WORK/dhcpcd" -B -1 -4 -L -K -A -d -t 30 -f "$WORK/dhcpcd.conf" -c /bin/true -h demo-dhcpcd eth0
waitfor "$WORK/dhcpcd.log" 'leased .* for' 30

for i in 1 2 3; do
  printf '  cli%s  %-9s %s\n' "$i" "$(sed -n "${i}p" <<<$'dhclient\nudhcpc\ndhcpcd')" \
    "$(ip -n "$(ns "cli$i")" -4 -o addr show dev eth0 | awk '{print $4}')"
done

say "what the server recorded"
if [ "$SERVER" = hadhcp ]; then
  node "$CLI" leases --socket "$WORK/hadhcp.sock" || true
  node "$CLI" status --socket "$WORK/hadhcp.sock" || true
else
  grep -E '^(DHCPACK|DHCPOFFER)' "$WORK/server.log" || true
fi
say "done (logs: $WORK${KEEP:+, kept})"
