import { formatIp4, formatMac } from '@hadhcp/common';
import type { LeaseJson } from '@hadhcp/control';
import { BINDING_STATE_NAMES, BindingState, INFINITE, type Lease, type LeaseBilling } from '@hadhcp/leases';

/**
 * A lease as the control socket shows it: Kea's lease4 field names where Kea has one (so existing scripts
 * keep working), plus the failover binding state and times ISC users know from dhcpd.leases (the shape is
 * @hadhcp/control's LeaseJson, which the CLI reads).
 */
export function leaseToJson(l: Lease): LeaseJson {
  const infinite = l.ends === INFINITE;
  return {
    'ip-address': formatIp4(l.address),
    'hw-address': l.hwAddr ? formatMac(l.hwAddr) : '',
    'client-id': l.clientId ? formatMac(l.clientId) : undefined,
    hostname: l.hostname ?? '',
    'binding-state': BINDING_STATE_NAMES[l.state] ?? String(l.state),
    // Kea: state 0 default, 1 declined, 2 expired-reclaimed.
    state: l.state === BindingState.ABANDONED ? 1 : l.state === BindingState.ACTIVE ? 0 : 2,
    cltt: l.cltt,
    'valid-lft': infinite ? INFINITE : Math.max(0, l.ends - l.starts),
    starts: l.starts,
    ends: infinite ? 'never' : l.ends,
    // Failover times (epoch seconds), absent when never set; 'never' as for `ends`.
    tstp: failoverTime(l.tstp),
    tsfp: failoverTime(l.tsfp),
    atsfp: failoverTime(l.atsfp),
    billing: l.billing && billingText(l.billing),
  };
}

/** ISC db.c write_billing_class's words: the value quoted when every byte is printable ASCII, else colon hex. */
export function billingText(b: LeaseBilling): string {
  if (!b.subclass) return `class "${b.className}"`;
  const v = b.subclass;
  const printable = v.every((c) => c >= 0x20 && c < 0x7f);
  const value = printable
    ? `"${String.fromCharCode(...v)}"`
    : [...v].map((c) => c.toString(16).padStart(2, '0')).join(':');
  return `subclass "${b.className}" ${value}`;
}

function failoverTime(t: number): number | 'never' | undefined {
  return t === INFINITE ? 'never' : t || undefined;
}
