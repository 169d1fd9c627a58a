#!/usr/bin/env bash
# hadhcp lab demo, in network namespaces on this machine (root; nothing outside the namespaces is touched):
#
#   rta (10.0.0.2, prio 150) --+                                           +-- cli1 dhclient (reserved 10.1.0.10)
#                              +-- lan0 -- relay (dhcrelay -> VIP) -- lan1 -+-- cli2 udhcpc
#   rtb (10.0.0.3, prio 100) --+   VIP 10.0.0.10           10.1.0.1        +-- cli3 dhcpcd, cli4 udhcpc (later)
#
# Both routers run one hadhcp each (VRRP + DHCP from keepalived.conf + dhcpd.conf). The relay's helper address
# is the VIP. The demo binds three clients, kills the master with kill -9, times the VIP's move, binds a new
# client through the backup, restarts router A (leftover VIP cleaned, preempts back) and shows the status.
# SERVER=dhcpd runs ISC dhcpd + keepalived 2.2.7 on the routers instead (the glue hadhcp replaces).
# KEEP=1 keeps the logs folder. Everything is removed on exit.
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
for r in a b; do
  addns "rt$r"; plug "rt$r" eth0 lan0 "s$r"
  inns "rt$r" ip addr add "10.0.0.$([ $r = a ] && echo 2 || echo 3)/24" dev eth0
  inns "rt$r" ip route add 10.1.0.0/24 via 10.0.0.1
done
addns relay; plug relay eth0 lan0 r0; plug relay eth1 lan1 r1
inns relay ip addr add 10.0.0.1/24 dev eth0; inns relay ip addr add 10.1.0.1/24 dev eth1
# The access switch routes too, so the servers' ping-check reaches the clients (and their answers come back).
inns relay sysctl -qw net.ipv4.ip_forward=1
for i in 1 2 3 4; do
  addns "cli$i"; plug "cli$i" eth0 lan1 "c$i"; ip -n "$(ns "cli$i")" link set eth0 address "02:00:00:00:01:0$i"
  inns "cli$i" ip route add default via 10.1.0.1 dev eth0 onlink
done
sleep 0.3

keepalived_conf() { # priority
  printf '%s\n' "global_defs {" "   router_id demo-$1" "}" "vrrp_instance VI_DHCP {" "    state BACKUP" \
    "    interface eth0" "    virtual_router_id 51" "    priority $1" "    advert_int 1" \
    "    authentication {" "        auth_type PASS" "        auth_pass demo1234" "    }" \
    "    virtual_ipaddress {" "        10.0.0.10/24 dev eth0" "    }" "}"
}
keepalived_conf 150 >"$WORK/rta.keepalived.conf"
keepalived_conf 100 >"$WORK/rtb.keepalived.conf"

CLI="$ROOT/packages/cli/dist/main.js"
start_router() { # a|b
  local r=$1 i
  case "$SERVER" in
    hadhcp)
      mkdir -p "$WORK/rt$r-state"
      bg "rt$r" "rt$r" node "$CLI" run --dhcpd "$HERE/dhcpd.conf" --keepalived "$WORK/rt$r.keepalived.conf" \
        --state-dir "$WORK/rt$r-state" --socket "$WORK/rt$r.sock" --pretty
      for ((i = 0; i < 100; i++)); do [ -S "$WORK/rt$r.sock" ] && break; sleep 0.1; done
      [ -S "$WORK/rt$r.sock" ] || { echo "hadhcp on rt$r did not start:" >&2; tail -20 "$WORK/rt$r.log" >&2; exit 1; }
      ;;
    dhcpd)
      : >"$WORK/rt$r.leases"
      bg "rt$r" "rt$r-dhcpd" dhcpd -f -d -4 -cf "$HERE/dhcpd.conf" -lf "$WORK/rt$r.leases" -pf "$WORK/rt$r-dhcpd.pid" eth0
      bg "rt$r" "rt$r" keepalived -n -l -D -f "$WORK/rt$r.keepalived.conf" -p "$WORK/rt$r-k.pid" \
        -r "$WORK/rt$r-v.pid" -c "$WORK/rt$r-c.pid"
      ;;
    *) echo "SERVER must be hadhcp or dhcpd" >&2; exit 2 ;;
  esac
}
holds_vip() { ip -n "$(ns "rt$1")" -4 -o addr show dev eth0 | grep -q ' 10\.0\.0\.10/'; }
now_ms() { date +%s%3N; }

if [ "$SERVER" = hadhcp ] && [ ! -f "$CLI" ]; then echo "no $CLI: run pnpm build (or SERVER=dhcpd)" >&2; exit 1; fi
say "routers: $SERVER on rta (priority 150) and rtb (priority 100), VIP 10.0.0.10"
start_router a
start_router b
for ((i = 0; i < 100; i++)); do holds_vip a && break; sleep 0.1; done
if holds_vip a; then echo "  VIP 10.0.0.10 is on rta"; else echo "rta did not take the VIP" >&2; tail -20 "$WORK/rta.log" >&2; exit 1; fi

say "relay: dhcrelay, clients' side eth1 -> helper address 10.0.0.10 (the VIP)"
bg relay relay dhcrelay -d -4 -pf "$WORK/dhcrelay.pid" -id eth1 -iu eth0 10.0.0.10
waitfor "$WORK/relay.log" 'Sending on +Socket/fallback' 10

say "three real clients bind through the relay"
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
if [ "$SERVER" = hadhcp ]; then
  say "router A's view: hadhcp status; hadhcp leases"
  node "$CLI" status --socket "$WORK/rta.sock" || true
  echo
  node "$CLI" leases --socket "$WORK/rta.sock" || true
fi

say "kill -9 of everything on router A"
T0=$(now_ms)
for p in $(ip netns pids "$(ns rta)"); do kill -9 "$p" 2>/dev/null || true; done
for ((i = 0; i < 400; i++)); do holds_vip b && break; sleep 0.02; done
T1=$(now_ms)
if holds_vip b; then
  echo "  VIP on rtb $((T1 - T0)) ms after the kill (advert_int 1 s: Master_Down_Interval = 3 s + skew 0.61 s)"
else
  echo "rtb did not take the VIP" >&2; tail -20 "$WORK/rtb.log" >&2; exit 1
fi
bg cli4 udhcpc4 udhcpc -f -q -n -i eth0 -s "$HERE/client-hook.sh" -x hostname:demo-after-failover
waitfor "$WORK/udhcpc4.log" 'lease of .* obtained' 30
T2=$(now_ms)
echo "  a new client bound through rtb $((T2 - T0)) ms after the kill: $(grep -o 'lease of .* obtained from [0-9.]*' "$WORK/udhcpc4.log")"
if [ "$SERVER" = hadhcp ]; then
  echo "  (router B had no copy of A's leases: lease sync between the routers is the failover protocol's job;"
  echo "   until then B's ping-check keeps it from handing out addresses the clients of A still use:)"
  grep -E 'Abandoning' "$WORK/rtb.log" | sed 's/^/    /' || true
fi

if [ "$SERVER" = hadhcp ]; then
  say "router A restarts: the VIP its killed process left behind is removed, then A preempts (150 > 100)"
  rm -f "$WORK/rta.sock"
  start_router a
  for ((i = 0; i < 100; i++)); do holds_vip a && ! holds_vip b && break; sleep 0.1; done
  if holds_vip a && ! holds_vip b; then echo "  VIP back on rta only"; else echo "  VIP not back on rta yet"; fi
  say "router B's view"
  node "$CLI" status --socket "$WORK/rtb.sock" || true
fi
say "done (logs: $WORK${KEEP:+, kept})"
