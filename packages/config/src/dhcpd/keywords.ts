/**
 * Statement keywords the reader knows, for did-you-mean hints on unknown statements.
 * NO_EFFECT lists ISC statements we parse and ignore: they matter to ISC's DDNS, OMAPI, logging or files,
 * none of which hadhcp does through dhcpd.conf.
 */
export const STATEMENTS = [
  'vendor-option-space',
  'on',
  'authoritative',
  'not',
  'default-lease-time',
  'max-lease-time',
  'min-lease-time',
  'subnet',
  'shared-network',
  'pool',
  'range',
  'group',
  'host',
  'hardware',
  'fixed-address',
  'use-host-decl-names',
  'allow',
  'deny',
  'ignore',
  'filename',
  'next-server',
  'server-name',
  'server-identifier',
  'ping-check',
  'ping-timeout',
  'dhcp-cache-threshold',
  'option',
  'include',
  'failover',
  'key',
  'omapi-port',
  'omapi-key',
  'boot-unknown-clients',
  'class',
  'subclass',
  'match',
  'spawn',
  'lease',
  'if',
  'elsif',
  'else',
] as const;

// prettier-ignore
export const NO_EFFECT = new Set([
  'ddns-update-style', 'ddns-updates', 'ddns-domainname', 'ddns-rev-domainname', 'ddns-hostname', 'ddns-ttl',
  'ddns-local-address4', 'ddns-dual-stack-mixed-mode', 'ddns-guard-id-must-match', 'ddns-other-guard-is-dynamic',
  'update-static-leases', 'update-optimization', 'update-conflict-detection', 'do-forward-updates',
  'client-updates', 'log-facility', 'lease-file-name', 'pid-file-name', 'get-lease-hostnames', 'one-lease-per-client',
  'db-time-format', 'local-port', 'local-address', 'remote-port', 'stash-agent-options', 'always-broadcast',
  'always-reply-rfc1048', 'dynamic-bootp-lease-cutoff', 'dynamic-bootp-lease-length', 'lease-id-format',
  'min-secs', 'infinite-is-reserved', 'abandon-lease-time', 'delayed-ack', 'max-ack-delay', 'dont-use-fsync',
  'echo-client-id', 'ping-cltt-secs', 'ping-timeout-ms', 'adaptive-lease-time-threshold', 'limit-addrs-per-ia',
  'server-duid', 'site-option-space', 'check-secs-byte-order',
]);

/** ISC statements we deliberately do not implement; named so the error says so rather than "unknown". */
export const UNSUPPORTED = new Set([
  'add',
  'set',
  'unset',
  'eval',
  'log',
  'execute',
  'switch',
  'zone',
  'define',
  'subnet6',
  'range6',
  'prefix6',
  'fixed-address6',
  'host-identifier',
  'dynamic-bootp',
  'known-clients',
  'failover-peer',
]);

/** Nearest known word, when close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(w, c);
    // A long shared prefix (`authorized` vs `authoritative`) is as telling as a small edit distance.
    const prefix = commonPrefix(w, c);
    const close = d <= Math.max(1, Math.floor(c.length / 4)) || prefix >= Math.min(6, c.length - 1);
    const score = d - prefix / 2;
    if (close && score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
