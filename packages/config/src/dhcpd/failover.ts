import type { FailoverPeerConfig, SourcePos } from '@hadhcp/dhcp';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Cursor, ParseError } from './cursor.js';
import type { Tok } from './lexer.js';

/**
 * `failover peer "NAME" { ... }` as ISC 4.4 reads it (server/confpars.c parse_failover_peer). Defaults are ISC's:
 * port 647, max-response-delay 20, max-unacked-updates 100, misbalance 15 %, ownership 10 %, balance 60..3600 s.
 */
export interface PeerDraft {
  peer: FailoverPeerConfig;
  roleSet: boolean;
  /** Where `split`/`hba` was written, for the secondary check. */
  lbTok?: Tok;
  /** Where `mclt` was written. */
  closeTok: Tok;
  /** `hadhcp-tls-cert`, `-key`, `-ca` as written (all three or none, checked when the block closes). */
  tls: Partial<Record<'cert' | 'key' | 'ca', { file: string; tok: Tok }>>;
}

export type Problem = { tok: Tok; message: string; hint: string };

export function parsePeerBlock(cur: Cursor, name: string, pos: SourcePos): PeerDraft {
  const peer: FailoverPeerConfig = {
    name,
    role: 'primary',
    port: 647,
    peerPort: 647,
    maxResponseDelay: 20,
    maxUnackedUpdates: 100,
    loadBalanceMaxSeconds: 0,
    autoPartnerDown: 0,
    maxLeaseMisbalance: 15,
    maxLeaseOwnership: 10,
    minBalance: 60,
    maxBalance: 3600,
    pos,
  };
  const d: PeerDraft = { peer, roleSet: false, closeTok: cur.peek(), tls: {} };
  const errors: ParseError[] = [];
  cur.expect('{', '`{`', `open the failover peer "${name}" block with {`);
  while (cur.peek().kind !== '}' && cur.peek().kind !== 'eof') {
    try {
      peerStatement(cur, d);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      errors.push(e);
      cur.recover();
    }
  }
  d.closeTok = cur.expect('}', '`}`', `close the failover peer "${name}" block with }`);
  if (errors.length) throw new AggregateError(errors);
  const { cert, key, ca } = d.tls;
  if (cert && key && ca) peer.tls = { cert: cert.file, key: key.file, ca: ca.file, pos: cur.pos(cert.tok) };
  return d;
}

const U32 = 2 ** 32 - 1;

function peerStatement(cur: Cursor, d: PeerDraft): void {
  const { peer } = d;
  const t = cur.word('a failover peer statement', 'see dhcpd.conf(5) "DHCP FAILOVER"');
  const w = t.text.toLowerCase();
  const int = (what: string, max = U32) => cur.int(what, 0, max);
  switch (w) {
    case 'primary':
    case 'secondary':
      peer.role = w;
      d.roleSet = true;
      break;
    case 'address':
      peer.address = cur.ip('failover address');
      break;
    case 'port':
      peer.port = int('port', 65535);
      break;
    case 'peer':
      if (cur.isWord('address')) {
        cur.next();
        peer.peerAddress = cur.ip('peer address');
      } else if (cur.isWord('port')) {
        cur.next();
        peer.peerPort = int('peer port', 65535);
      } else
        throw new ParseError(
          cur.peek(),
          'expected `peer address` or `peer port`',
          'write `peer address 192.0.2.2;`',
        );
      break;
    case 'max-response-delay':
      peer.maxResponseDelay = int(w);
      break;
    case 'max-unacked-updates':
      peer.maxUnackedUpdates = int(w);
      break;
    case 'mclt':
      peer.mclt = int(w);
      break;
    case 'split': {
      d.lbTok = t;
      const splitTok = cur.peek();
      const n = Number(splitTok.text);
      if (!/^\d+$/.test(splitTok.text) || n > 256)
        throw new ParseError(
          splitTok,
          `\`split ${splitTok.text}\`: split must be between 0 and 256`,
          'use 128 to share the clients evenly',
        );
      cur.next();
      peer.split = n;
      peer.hba = splitToHba(n);
      break;
    }
    case 'hba': {
      d.lbTok = t;
      const h = cur.word('32 hex octets', 'write hba as 32 colon-separated hex octets');
      const parts = h.text.split(':');
      if (parts.length !== 32 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)))
        throw new ParseError(
          h,
          `\`hba\`: expected exactly 32 colon-separated hex octets, found ${parts.length}`,
          'or use `split N;` instead',
        );
      peer.hba = Uint8Array.from(parts, (p) => parseInt(p, 16));
      break;
    }
    case 'load':
      for (const k of ['balance', 'max', 'seconds'])
        if (!cur.isWord(k))
          throw new ParseError(
            cur.peek(),
            'expected `load balance max seconds N`',
            'write `load balance max seconds 3;`',
          );
        else cur.next();
      peer.loadBalanceMaxSeconds = int('load balance max seconds');
      break;
    case 'auto-partner-down':
      peer.autoPartnerDown = int(w);
      break;
    case 'max-lease-misbalance':
      peer.maxLeaseMisbalance = int(w, 100);
      break;
    case 'max-lease-ownership':
      peer.maxLeaseOwnership = int(w, 100);
      break;
    case 'min-balance':
      peer.minBalance = int(w);
      break;
    case 'max-balance':
      peer.maxBalance = int(w);
      break;
    case 'hadhcp-lazy-updates': {
      // hadhcp's own (ISC's dhcpd -t refuses it): ACK without waiting for the partner's BNDACK, as ISC does.
      const v = cur.word('true or false', 'write `hadhcp-lazy-updates true;` or `false;`');
      const b = v.text.toLowerCase();
      if (b !== 'true' && b !== 'false' && b !== 'on' && b !== 'off')
        throw new ParseError(
          v,
          `\`hadhcp-lazy-updates ${v.text}\`: expected true or false`,
          'write `hadhcp-lazy-updates true;`',
        );
      peer.lazyUpdates = b === 'true' || b === 'on';
      break;
    }
    case 'hadhcp-tls-cert':
    case 'hadhcp-tls-key':
    case 'hadhcp-tls-ca': {
      // hadhcp's own (ISC's dhcpd -t refuses them, and ISC speaks plain TCP): TLS between two hadhcp nodes.
      const f = cur.expect('string', 'a quoted file name', `write \`${w} "/etc/hadhcp/tls/FILE.pem";\``);
      const file = isAbsolute(f.text) ? f.text : resolve(dirname(cur.file), f.text);
      d.tls[w.slice('hadhcp-tls-'.length) as 'cert' | 'key' | 'ca'] = { file, tok: t };
      break;
    }
    default:
      throw new ParseError(
        t,
        `unknown failover peer statement "${t.text}"`,
        'see dhcpd.conf(5) "DHCP FAILOVER" for the statements a peer block takes',
      );
  }
  cur.semi(w);
}

/** FACTS 4.4: `split N` sets buckets 0..N-1, bucket b is bit (b & 7) of byte b >> 3 (LSB first). */
export function splitToHba(n: number): Uint8Array {
  const hba = new Uint8Array(32);
  for (let b = 0; b < Math.min(n, 256); b++) hba[b >> 3]! |= 1 << (b & 7);
  return hba;
}

/** The checks dhcpd -t applies when the block closes (confpars.c, messages as ISC words them). */
export function peerProblems(d: PeerDraft, declTok: Tok): Problem[] {
  const { peer } = d;
  const out: Problem[] = [];
  const stmt = `failover peer "${peer.name}"`;
  if (peer.peerAddress === undefined)
    out.push({
      tok: d.closeTok,
      message: `${stmt}: peer address may not be omitted`,
      hint: 'add `peer address <the other server>;`',
    });
  const given = (['cert', 'key', 'ca'] as const).filter((k) => d.tls[k]);
  if (given.length > 0 && given.length < 3) {
    const missing = (['cert', 'key', 'ca'] as const).filter((k) => !d.tls[k]).map((k) => `hadhcp-tls-${k}`);
    out.push({
      tok: d.tls[given[0]!]!.tok,
      message: `${stmt}: TLS needs hadhcp-tls-cert, hadhcp-tls-key and hadhcp-tls-ca; ${missing.join(' and ')} missing`,
      hint: `add ${missing.map((m) => `\`${m} "FILE";\``).join(' and ')}, or remove the hadhcp-tls-* lines for plain TCP (as ISC)`,
    });
  }
  if (peer.role === 'secondary' && d.lbTok)
    out.push({
      tok: d.lbTok,
      message: `${stmt}: \`${d.lbTok.text}\` on the secondary; a secondary may not define load balance settings`,
      hint: `remove \`${d.lbTok.text}\` from the secondary: it takes the split from the primary when they connect`,
    });
  if (peer.role === 'primary') {
    const who = d.roleSet
      ? 'primary'
      : 'peer with neither `primary;` nor `secondary;` (ISC treats it as primary)';
    if (peer.mclt === undefined)
      out.push({
        tok: declTok,
        message: `${stmt}: the ${who} must have mclt`,
        hint: 'add `mclt 3600;` (seconds) to the primary',
      });
    if (peer.hba === undefined)
      out.push({
        tok: declTok,
        message: `${stmt}: the ${who} must have hba or split`,
        hint: 'add `split 128;` to the primary',
      });
  }
  return out;
}
