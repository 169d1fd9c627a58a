#!/bin/sh
# Produces fixtures/isc-real.dhcpd.leases: a dhcpd.leases written by Debian's ISC dhcpd (4.4.x) for real dhclient
# clients, in throwaway network namespaces. Run as root: sh packages/leases/scripts/make-isc-fixture.sh
# Topology: namespace S (dhcpd on bridge sw0, 10.99.0.1/24) <- 3 veth pairs -> namespace C (3 dhclients).
# dhcpd.conf also declares a failover peer that never answers, so the file carries a failover state block.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
P="hdlfx$$"
S="${P}s"; C="${P}c"
WORK=$(mktemp -d)
cleanup() {
  [ -f "$WORK/dhcpd.pid" ] && kill "$(cat "$WORK/dhcpd.pid")" 2>/dev/null || true
  for f in "$WORK"/dhclient*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add "$S"; ip netns add "$C"
ip -n "$S" link add sw0 type bridge
ip -n "$S" addr add 10.99.0.1/24 dev sw0
ip -n "$S" link set sw0 up
for i in 1 2 3; do
  ip link add "${P}a$i" netns "$S" type veth peer name "c$i" netns "$C"
  ip -n "$S" link set "${P}a$i" master sw0 up
  ip -n "$C" link set "c$i" address "52:54:00:fa:00:0$i" up
done
ip -n "$C" link set lo up

cat >"$WORK/dhcpd.conf" <<CONF
authoritative;
ddns-update-style none;
default-lease-time 600;
max-lease-time 7200;
failover peer "fo-test" {
  primary; address 10.99.0.1; port 18647; peer address 10.99.0.254; peer port 18647;
  max-response-delay 30; max-unacked-updates 10; mclt 300; split 128; load balance max seconds 3;
}
subnet 10.99.0.0 netmask 255.255.255.0 { range 10.99.0.100 10.99.0.110; option routers 10.99.0.1; }
subnet 10.98.0.0 netmask 255.255.255.0 { pool { failover peer "fo-test"; range 10.98.0.10 10.98.0.12; } }
CONF
touch "$WORK/dhcpd.leases"
ip netns exec "$S" /usr/sbin/dhcpd -4 -f -d -cf "$WORK/dhcpd.conf" -lf "$WORK/dhcpd.leases" -pf "$WORK/dhcpd.pid" sw0 \
  >"$WORK/dhcpd.log" 2>&1 &
echo $! >"$WORK/dhcpd.pid"
sleep 2

# c1: binary client identifier and a hostname; c2: hostname with a quote, no client id; c3: plain, then released.
printf 'send dhcp-client-identifier 01:52:54:00:fa:00:01;\nsend host-name "pc-one";\n' >"$WORK/c1.conf"
printf 'send host-name "lap top";\n' >"$WORK/c2.conf"
printf '\n' >"$WORK/c3.conf"
for i in 1 2 3; do
  ip netns exec "$C" /usr/sbin/dhclient -4 -1 -cf "$WORK/c$i.conf" -lf "$WORK/c$i.leases" -pf "$WORK/dhclient$i.pid" \
    -sf /bin/true "c$i" >>"$WORK/dhclient.log" 2>&1
done
# -sf /bin/true configures nothing; give c3 its address as dhclient-script would, so the unicast RELEASE can leave.
ADDR3=$(sed -n 's/.*fixed-address \([0-9.]*\);/\1/p' "$WORK/c3.leases" | tail -1)
ip -n "$C" addr add "$ADDR3/24" dev c3
ip netns exec "$C" /usr/sbin/dhclient -4 -r -cf "$WORK/c3.conf" -lf "$WORK/c3.leases" -pf "$WORK/dhclient3.pid" \
  -sf /bin/true c3 >>"$WORK/dhclient.log" 2>&1
sleep 2
kill "$(cat "$WORK/dhcpd.pid")"; sleep 1

OUT="$HERE/fixtures/isc-real.dhcpd.leases"
{
  echo "# hadhcp fixture: written by $(/usr/sbin/dhcpd --version 2>&1 | head -1) for three real dhclient clients"
  echo "# in network namespaces, by packages/leases/scripts/make-isc-fixture.sh on $(date -u +%Y-%m-%d). Do not edit."
  cat "$WORK/dhcpd.leases"
} >"$OUT"
echo "wrote $OUT"; tail -5 "$WORK/dhcpd.log"; tail -8 "$WORK/dhclient.log"
