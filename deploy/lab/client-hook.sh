#!/bin/sh
# Demo client hook (dhclient -sf, udhcpc -s): set the leased address on the interface inside the client's
# namespace, and touch nothing else on the host (no resolv.conf, no hostname).
ev="${reason:-$1}"
case "$ev" in
  PREINIT|deconfig) ip link set dev "$interface" up; ip -4 addr flush dev "$interface" ;;
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  bound|renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
