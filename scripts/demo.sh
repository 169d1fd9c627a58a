#!/usr/bin/env bash
# Quick start, part 1: set the machine up (Debian 12, root), build, and run the lab demo
# (deploy/lab/demo.sh: two routers, a relay and real DHCP clients in network namespaces; router A is
# killed and router B takes over).
#   bash scripts/demo.sh                 hadhcp as the server
#   SERVER=dhcpd bash scripts/demo.sh    ISC dhcpd as a stand-in, same dhcpd.conf
#   HADHCP_SKIP_SETUP=1 ...              skip setup (already done)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${HADHCP_SKIP_SETUP:-}" ]; then bash scripts/setup.sh; fi
exec bash deploy/lab/demo.sh "$@"
