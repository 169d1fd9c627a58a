/**
 * Effective priority from the configured one and what is tracked, keepalived's rules:
 * - a tracker with weight > 0 adds it while good; with weight < 0 adds it (lowers) while bad;
 * - a tracker without weight (0) puts the instance in FAULT while bad;
 * - the result stays within 1..254; an address owner (255) keeps 255 (RFC 3768 5.3.4: the owner always wins).
 * The external weight is the supervisor's (DHCP health), applied like a tracker's.
 */
export interface TrackerView {
  /** e.g. `script chk_dhcpd` or `interface eth1`. */
  name: string;
  weight: number;
  /** Undefined while a script has not reported yet: counts neither way. */
  ok: boolean | undefined;
}

export interface PriorityView {
  priority: number;
  /** Trackers that put the instance in FAULT; empty when none. */
  faults: string[];
  /** Why the priority differs from the configured one, e.g. `-20 script chk_dhcpd failing`. */
  reasons: string[];
}

export function effectivePriority(
  base: number,
  trackers: TrackerView[],
  external?: { weight: number; reason: string },
): PriorityView {
  const faults: string[] = [];
  const reasons: string[] = [];
  let p = base;
  for (const t of trackers) {
    if (t.ok === undefined) continue;
    if (t.weight === 0) {
      if (!t.ok) faults.push(t.name);
    } else if (t.weight > 0 && t.ok) {
      p += t.weight;
      reasons.push(`+${t.weight} ${t.name} up`);
    } else if (t.weight < 0 && !t.ok) {
      p += t.weight;
      reasons.push(`${t.weight} ${t.name} down`);
    }
  }
  if (external && external.weight !== 0) {
    p += external.weight;
    reasons.push(`${external.weight > 0 ? '+' : ''}${external.weight} ${external.reason}`);
  }
  if (base === 255) return { priority: 255, faults, reasons: reasons.length ? ['owner: weights ignored'] : [] };
  return { priority: Math.min(254, Math.max(1, p)), faults, reasons };
}
