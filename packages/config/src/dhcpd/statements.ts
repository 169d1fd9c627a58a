import type { Severity } from '../diagnostics.js';
import { Cursor, ParseError } from './cursor.js';
import type { Tok } from './lexer.js';
import type { ClientClass } from '@hadhcp/dhcp';
import type { Ctx } from './parser.js';

interface Notes {
  note(tok: Tok, severity: Severity, message: string, hint?: string): void;
  readonly classes?: ReadonlyMap<string, ClientClass>;
}

/** dhcpd.conf(5) "ALLOW AND DENY": the same words are permits inside a pool and parameters elsewhere. */
export function parseAllowDeny(cur: Cursor, n: Notes, kw: Tok, ctx: Ctx): void {
  const allow = kw.text.toLowerCase() === 'allow';
  const t = cur.word('what to allow or deny', 'e.g. `deny unknown-clients;`');
  const w = t.text.toLowerCase();
  const words = (...rest: string[]) => {
    for (const r of rest) {
      if (!cur.isWord(r))
        throw new ParseError(
          cur.peek(),
          `expected \`${kw.text} ${w} ${rest.join(' ')}\``,
          `write \`${kw.text} ${w} ${rest.join(' ')};\``,
        );
      cur.next();
    }
  };
  const p = ctx.scope.params;
  const pool = ctx.pool;
  let stmt = `${kw.text} ${w}`;
  switch (w) {
    case 'unknown-clients':
      if (pool) pool.permits.allowUnknownClients = allow;
      else p.unknownClients = allow;
      break;
    case 'unknown':
      words('clients');
      if (pool) pool.permits.allowUnknownClients = allow;
      else p.unknownClients = allow;
      break;
    case 'known-clients':
    case 'known':
      if (w === 'known') words('clients');
      if (!pool)
        throw new ParseError(
          t,
          `\`${stmt}\` is only meaningful in a pool`,
          'move it into a pool, or use `allow unknown-clients` / `deny unknown-clients` here',
        );
      pool.permits.allowKnownClients = allow;
      break;
    case 'all':
      words('clients');
      if (!pool)
        throw new ParseError(t, `\`${stmt} clients\` is only meaningful in a pool`, 'move it into a pool');
      pool.permits.allowAllClients = allow;
      break;
    case 'dynamic':
      words('bootp', 'clients');
      stmt += ' bootp clients';
      // ISC reads `dynamic bootp clients` only as a pool permit ("expecting allow/deny key" elsewhere).
      if (!pool)
        throw new ParseError(
          t,
          `\`${stmt}\` is only allowed in a pool`,
          `move it into the pool, or use \`${kw.text} bootp;\` to cover all BOOTP`,
        );
      pool.permits.allowDynamicBootp = allow;
      break;
    case 'bootp':
      p.bootp = allow;
      break;
    case 'booting':
      p.booting = allow;
      break;
    case 'client-updates':
    case 'duplicates':
    case 'declines':
    case 'leasequery':
      n.note(t, 'note', `\`${stmt}\` has no effect in hadhcp`);
      break;
    case 'members': {
      words('of');
      stmt += ' of';
      const name = cur.name('class name');
      stmt += ` "${name.text}"`;
      if (!pool)
        throw new ParseError(
          t,
          `\`${stmt}\` is only allowed in a pool`,
          'move it into the pool the class may (or may not) use',
        );
      const cls = n.classes?.get(name.text);
      if (!cls)
        throw new ParseError(
          name,
          `no such class: ${name.text}`,
          `declare \`class "${name.text}" { ... }\` above this pool (ISC needs it declared first)`,
        );
      (pool.permits.members ??= []).push({ allow, class: cls });
      break;
    }
    default:
      throw new ParseError(
        t,
        `\`${stmt}\`: unknown allow/deny keyword`,
        'use unknown-clients, known-clients, bootp, booting, dynamic bootp clients or client-updates',
      );
  }
  cur.semi(stmt);
}

const HTYPES: Record<string, number> = { ethernet: 1, 'token-ring': 6, fddi: 8, infiniband: 32 };

/** `hardware ethernet 08:00:27:d3:8f:2d;` (ARP hardware types, RFC 1700). */
export function parseHardware(cur: Cursor, n: Notes): { htype: number; addr: Uint8Array } {
  const typeTok = cur.word('a hardware type', 'write `hardware ethernet 08:00:27:d3:8f:2d;`');
  const htype = HTYPES[typeTok.text.toLowerCase()];
  if (htype === undefined)
    throw new ParseError(
      typeTok,
      `unknown hardware type "${typeTok.text}"`,
      'use ethernet, token-ring, fddi or infiniband',
    );
  const a = cur.word(
    'a hardware address',
    'write the address as colon-separated hex, e.g. 08:00:27:d3:8f:2d',
  );
  const parts = a.text.split(':');
  const bad = parts.findIndex((x) => !/^[0-9a-fA-F]{1,2}$/.test(x));
  if (bad >= 0 || parts.length > 16) {
    // Point at the offending octet, as ISC does.
    const col = a.col + parts.slice(0, Math.max(bad, 0)).reduce((k, x) => k + x.length + 1, 0);
    const what = bad >= 0 ? `"${parts[bad]}" is not a hex octet` : 'more than 16 octets';
    throw new ParseError(
      { ...a, col },
      `\`hardware ${typeTok.text} ${a.text}\`: ${what}, not a hardware address`,
      'write up to 16 colon-separated hex octets, e.g. 08:00:27:d3:8f:2d',
    );
  }
  if (htype === 1 && parts.length !== 6)
    n.note(
      a,
      'warning',
      `\`hardware ethernet ${a.text}\` has ${parts.length} octets, not 6`,
      'no Ethernet client will match it; check for a missing or extra octet',
    );
  return { htype, addr: Uint8Array.from(parts, (x) => parseInt(x, 16)) };
}

/**
 * `secret BASE64;`: ISC decodes as it reads and rejects a secret whose count of base64 digits leaves one
 * digit over (6 bits cannot make a byte): "partial base64 value left over". The digits may be split by the
 * lexer around `=` padding, so the statement is collected up to `;`.
 */
export function checkBase64(cur: Cursor): string {
  const first = cur.peek();
  let text = '';
  while (cur.peek().kind === 'word' || cur.peek().kind === '=') text += cur.next().text;
  const bad = /[^A-Za-z0-9+/=]/.exec(text);
  if (bad || text === '')
    throw new ParseError(
      first,
      `\`secret ${text}\`: "${bad ? bad[0] : ''}" is not a base64 digit`,
      'paste the secret exactly as dnssec-keygen or tsig-keygen printed it',
    );
  const digits = text.replace(/=+$/, '').length;
  if (digits % 4 === 1)
    throw new ParseError(
      first,
      `\`secret ${text}\`: partial base64 value left over (${digits} base64 digits; a valid secret never has 4n+1)`,
      'the secret was mistyped or truncated: generate one with `tsig-keygen` and paste it whole',
    );
  cur.semi('secret');
  return text;
}
