#!/usr/bin/env bash
# hadhcp lab demo: two routers fail over, in network namespaces on this machine (root; nothing outside
# the namespaces is touched, everything is removed on exit).
#
#   rta 10.0.0.2 --+                                                     +-- cli1 dhclient
#                  +-- lan0 -- relay 10.0.0.1 | 10.1.0.1 (dhcrelay) -- lan1 +-- cli2 udhcpc
#   rtb 10.0.0.3 --+           helper address: VIP 10.0.0.10             +-- cli3 dhcpcd, cli4 udhcpc
#
# Router A (VRRP priority 150) holds the VIP 10.0.0.10; the routers keep their leases in sync with the DHCP
# failover protocol (TCP 647 between 10.0.0.2 and 10.0.0.3: A primary, B secondary); the three clients bind
# through the relay; then router A dies (kill -9): B takes the VIP, knows A's clients' leases (a rebooting client
# keeps its address) and gives a new client an address of its own half of the pool.
#   SERVER=hadhcp (default): one hadhcp per router with dhcpd-{a,b}.conf + keepalived-{a,b}.conf (pnpm build first)
#   SERVER=dhcpd: the stand-in, keepalived + ISC dhcpd 4.4 per router with the same files (ISC's own failover)
#   KEEP=1 keeps the logs folder.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVER=${SERVER:-hadhcp}
# The command operators run (the systemd unit's ExecStart), which picks node's flags and the one-file build.
CLI="$ROOT/packages/cli/bin/hadhcp"
P="hdemo$(($$ % 1000))"
WORK=$(mktemp -d "/tmp/hadhcp-demo-XXXX")
PIDS=()
NSS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { echo "$P-$1"; }
inns() {
  local n=$1
  shift
  ip netns exec "$(ns "$n")" "$@"
}

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; done
  sleep 0.5
  for n in "${NSS[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespaces)" >&2; exit 1; }
case "$SERVER" in
  hadhcp) [ -f "$ROOT/packages/cli/dist/main.js" ] || { echo "hadhcp is not built: run pnpm build (or SERVER=dhcpd)" >&2; exit 1; } ;;
  dhcpd) ;;
  *) echo "SERVER must be hadhcp or dhcpd" >&2; exit 2 ;;
esac

addns() {
  ip netns add "$(ns "$1")"
  NSS+=("$(ns "$1")")
  inns "$1" ip link set lo up
}
# veth from namespace $1 (interface $2) into bridge $3 of the switch namespace (port $4)
plug() {
  ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns sw)"
  ip -n "$(ns sw)" link set "$4" master "$3" up
  ip -n "$(ns "$1")" link set "$2" up
}
# start a background process in a namespace, in its own process group, logging to $WORK/<name>.log
bg() {
  local n=$1 name=$2
  shift 2
  setsid ip netns exec "$(ns "$n")" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  disown $! # no "Killed" job notices when the demo kills a router
}
waitfor() { # file regex seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for /$2/ in $1:" >&2
  tail -20 "$1" >&2
  return 1
}
has_vip() { ip -n "$(ns "$1")" -4 -o addr show dev eth0 | grep -q ' 10\.0\.0\.10/'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

say "building the lab ($P-*)"
addns sw
for b in lan0 lan1; do
  ip -n "$(ns sw)" link add name "$b" type bridge mcast_snooping 0 # VRRP multicast must reach every port
  ip -n "$(ns sw)" link set "$b" up
done
addns relay
plug relay eth0 lan0 r0
plug relay eth1 lan1 r1
inns relay ip addr add 10.0.0.1/24 dev eth0
inns relay ip addr add 10.1.0.1/24 dev eth1
inns relay sysctl -qw net.ipv4.ip_forward=1 # renewals go straight to the server identifier
for r in a b; do
  addns "rt$r"
  plug "rt$r" eth0 lan0 "s$r"
  inns "rt$r" ip addr add "10.0.0.$([ $r = a ] && echo 2 || echo 3)/24" dev eth0
  inns "rt$r" ip route add 10.1.0.0/24 via 10.0.0.1
done
for i in 1 2 3 4; do
  addns "cli$i"
  plug "cli$i" eth0 lan1 "c$i"
  ip -n "$(ns "cli$i")" link set eth0 address "02:00:00:00:01:0$i"
  # A route back through the access switch, so the servers' ping-check (and renewals) reach the clients.
  inns "cli$i" ip route add default via 10.1.0.1 dev eth0 onlink
done
sleep 0.3

start_router() { # a|b [keep: a restart, the lease database kept]
  local r=$1
  case "$SERVER" in
    hadhcp)
      mkdir -p "$WORK/state-$r"
      bg "rt$r" "server_$r" "$CLI" run --dhcpd "$HERE/dhcpd-$r.conf" --keepalived "$HERE/keepalived-$r.conf" \
        --state-dir "$WORK/state-$r" --socket "$WORK/hadhcp-$r.sock" --pretty
      for ((i = 0; i < 100; i++)); do
        [ -S "$WORK/hadhcp-$r.sock" ] && return 0
        sleep 0.1
      done
      echo "hadhcp on router $r did not start:" >&2
      tail -20 "$WORK/server_$r.log" >&2
      return 1
      ;;
    dhcpd)
      bg "rt$r" "vrrp_$r" keepalived -n -l -D -P -f "$HERE/keepalived-$r.conf" -p "$WORK/ka-$r.pid" -r "$WORK/ka-vrrp-$r.pid"
      [ -n "${2:-}" ] || : >"$WORK/dhcpd-$r.leases"
      bg "rt$r" "server_$r" dhcpd -f -d -4 -cf "$HERE/dhcpd-$r.conf" -lf "$WORK/dhcpd-$r.leases" -pf "$WORK/dhcpd-$r.pid" eth0
      waitfor "$WORK/server_$r.log" '^Server starting service' 15
      ;;
  esac
}
kill_router() { # a|b: kill -9 everything the router runs, as a crash would
  local r=$1 p
  for p in $(ip netns pids "$(ns "rt$r")"); do kill -9 "$p" 2>/dev/null || true; done
}

say "routers: $SERVER on rta (priority 150) and rtb (priority 100)"
start_router a
start_router b
t0=$(now)
for ((i = 0; i < 100; i++)); do
  has_vip rta && break
  sleep 0.1
done
has_vip rta || { echo "router A never took the VIP" >&2; exit 1; }
echo "  router A holds 10.0.0.10 (after $(since "$t0"))"
# Neither serves before the failover relationship is normal (both start in recover: an empty lease store).
normal_re='failover peer demo-failover: I move from [a-z-]+ to normal'
waitfor "$WORK/server_a.log" "$normal_re" 60
waitfor "$WORK/server_b.log" "$normal_re" 60
echo "  failover demo-failover: A (primary) and B (secondary) normal, $(since "$t0") after start"

say "relay: dhcrelay on relay, clients' side eth1 -> VIP 10.0.0.10"
bg relay relay dhcrelay -d -4 -pf "$WORK/dhcrelay.pid" -id eth1 -iu eth0 10.0.0.10
waitfor "$WORK/relay.log" 'Sending on +Socket/fallback' 10

dhclient_on() { # ns
  bg "$1" "dhclient_$1" dhclient -d -1 -v -4 -sf "$HERE/client-hook.sh" -cf /dev/null \
    -lf "$WORK/dhclient-$1.leases" -pf "$WORK/dhclient-$1.pid" eth0
  waitfor "$WORK/dhclient_$1.log" 'bound to' 30
}
udhcpc_on() { # ns
  bg "$1" "udhcpc_$1" udhcpc -f -q -n -i eth0 -s "$HERE/client-hook.sh" -x "hostname:demo-$1"
  waitfor "$WORK/udhcpc_$1.log" 'lease of .* obtained' 30
}
dhcpcd_on() { # ns [log name]; dhcpcd's /run/dhcpcd and /var/lib/dhcpcd are fixed paths: mount private ones over
  # them (the lease it keeps there survives, so a second run asks for the same address: INIT-REBOOT)
  local log=${2:-dhcpcd_$1}
  mkdir -p "$WORK/dhcpcd-$1/run" "$WORK/dhcpcd-$1/db"
  printf 'clientid\noption subnet_mask, routers\n' >"$WORK/dhcpcd-$1.conf"
  bg "$1" "$log" sh -c 'mkdir -p /run/dhcpcd && mount --bind "$0/run" /run/dhcpcd &&
      mount --bind "$0/db" /var/lib/dhcpcd && exec dhcpcd "$@"' \
    "$WORK/dhcpcd-$1" -B -1 -4 -L -K -A -d -t 30 -f "$WORK/dhcpcd-$1.conf" -c /bin/true -h "demo-$1" eth0
  waitfor "$WORK/$log.log" 'leased .* for' 30
}
show() { # ns kind
  printf '  %-5s %-9s %s\n' "$1" "$2" "$(ip -n "$(ns "$1")" -4 -o addr show dev eth0 | awk '{print $4}')"
}

say "clients bind through the relay (router A answers)"
dhclient_on cli1 && show cli1 dhclient
udhcpc_on cli2 && show cli2 udhcpc
dhcpcd_on cli3 && show cli3 dhcpcd

show_leases() { # a|b
  if [ "$SERVER" = hadhcp ]; then
    "$CLI" leases --socket "$WORK/hadhcp-$1.sock" || true
  else
    grep -E '^DHCPACK' "$WORK/server_$1.log" | sed 's/^/  /' || true
  fi
}
say "router A's view"
show_leases a

addr_of() { ip -n "$(ns "$1")" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
mac_of() { ip -n "$(ns "$1")" link show dev eth0 | awk '/link\/ether/ {print $2}'; }
knows() { # a|b ip mac: does router $1 hold an active lease of ip for mac?
  if [ "$SERVER" = hadhcp ]; then
    "$CLI" ctl --socket "$WORK/hadhcp-$1.sock" lease4-get "{\"ip-address\": \"$2\"}" 2>/dev/null |
      tr -d ' \n' | grep -q "\"hw-address\":\"$3\".*\"binding-state\":\"active\""
  else # ISC's dhcpd.leases: the last entry for an address wins
    awk -v ip="$2" -v mac="$3;" '$1 == "lease" && $2 == ip { in_l = 1; act = 0; hw = 0; next }
      in_l && /^}/ { in_l = 0 }
      in_l && $1 == "binding" && $3 == "active;" { act = 1 }
      in_l && $1 == "hardware" && $3 == mac { hw = 1 }
      END { exit !(act && hw) }' "$WORK/dhcpd-$1.leases"
  fi
}
before_cli3=$(addr_of cli3)

say "router A crashes (kill -9)"
kill_router a
t0=$(now)
for ((i = 0; i < 200; i++)); do
  has_vip rtb && break
  sleep 0.05
done
has_vip rtb || { echo "router B never took the VIP" >&2; exit 1; }
echo "  router B holds 10.0.0.10, $(since "$t0") after the crash"

say "router B knows router A's clients (their leases came over the failover link)"
for c in cli2 cli3; do
  if knows b "$(addr_of "$c")" "$(mac_of "$c")"; then
    echo "  $c: $(addr_of "$c") for $(mac_of "$c") is an active lease on router B"
  else
    echo "  ! $c: router B has no active lease of $(addr_of "$c") for $(mac_of "$c")"
  fi
done
t1=$(now)
dhcpcd_on cli3 dhcpcd_cli3_reboot # dhcpcd reboots: it asks for the address it holds, now from router B
if [ "$(addr_of cli3)" = "$before_cli3" ]; then
  echo "  cli3 (dhcpcd) rebooted and kept $before_cli3: router B acknowledged it ($(since "$t1"))"
else
  echo "  ! cli3 (dhcpcd) had $before_cli3 and now has $(addr_of cli3): router B did not know its lease"
fi
t3=$(now)
udhcpc_on cli4
echo "  a new client bound through router B in $(since "$t3") (its udhcpc's whole run; $(since "$t0") after the crash):"
show cli4 udhcpc
for c in cli1 cli2 cli3; do
  if [ "$(addr_of "$c")" = "$(addr_of cli4)" ]; then
    echo "  ! $(addr_of cli4) is now leased twice ($c and cli4): router B did not know router A's leases"
  fi
done

say "router B's view"
show_leases b

say "router A comes back: it catches up with B's leases before it may take the VIP back"
rm -f "$WORK/hadhcp-a.sock"
t2=$(now)
start_router a keep
waitfor "$WORK/server_a.log" "$normal_re" 120
echo "  failover demo-failover: A back in normal, $(since "$t2") after its restart (B's new leases came over first)"
for ((i = 0; i < 400; i++)); do
  has_vip rta && break
  sleep 0.05
done
if has_vip rta; then
  echo "  router A holds 10.0.0.10 again, $(since "$t2") after its restart (it had not before it was in sync)"
else
  echo "  ! router A did not take the VIP back"
fi

active_of() { # a|b: "ip mac" of every active lease, sorted
  if [ "$SERVER" = hadhcp ]; then
    "$CLI" ctl --socket "$WORK/hadhcp-$1.sock" lease4-get-all 2>/dev/null | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const r = JSON.parse(s); const ls = (r.arguments ?? r[0]?.arguments ?? {}).leases ?? [];
        for (const l of ls) if (l["binding-state"] === "active") console.log(l["ip-address"], l["hw-address"]);
      });' | sort
  else # ISC's dhcpd.leases: the last entry for an address wins
    awk '$1 == "lease" { ip = $2; st[ip] = ""; hw[ip] = "" }
      $1 == "binding" && $2 == "state" { st[ip] = $3 }
      $1 == "hardware" { hw[ip] = $3 }
      END { for (i in st) if (st[i] == "active;") { h = hw[i]; sub(";", "", h); print i, h } }' \
      "$WORK/dhcpd-$1.leases" | sort
  fi
}
say "both lease databases, compared (active leases: address, client)"
active_of a >"$WORK/active-a"
active_of b >"$WORK/active-b"
sed 's/^/  /' "$WORK/active-a"
if [ -s "$WORK/active-a" ] && cmp -s "$WORK/active-a" "$WORK/active-b"; then
  echo "  identical on router A and router B ($(wc -l <"$WORK/active-a") active leases)"
else
  echo "  ! the two routers differ:"
  diff "$WORK/active-a" "$WORK/active-b" | sed 's/^/    /'
fi
say "done${KEEP:+ (logs kept in $WORK)}"
