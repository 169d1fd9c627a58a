import { parseIp4, parseMac, type Ip4 } from '@hadhcp/common';
import {
  encodeDomainList,
  encodeOptionValue,
  OPTION_DEFS_BY_NAME,
  OptionValueError,
  type CustomOptionDef,
  type OptionJsValue,
  type OptionSetting,
  type OptionSpace,
  type OptionType,
} from '@hadhcp/dhcp';
import { Cursor, ParseError, checkInt, describe, ipOrHost, type Notes } from './cursor.js';
import { didYouMean } from './keywords.js';
import type { Tok } from './lexer.js';

/**
 * `option NAME value;` and `option NAME code N = FORMAT;` (dhcp-options(5)). Built-in names encode through the
 * typed value codec; user definitions through ISC's format words (a small record/array encoder below).
 */
type Atom =
  'ip' | 'text' | 'string' | 'bool' | 'u8' | 'u16' | 'u32' | 'i8' | 'i16' | 'i32' | 'domain' | 'domains';
interface Format {
  array: boolean;
  fields: Atom[];
}

interface OptionDef {
  code: number;
  name: string;
  type?: OptionType;
  format?: Format;
  /** A sub-option: the space it is defined in (`name` is then `SPACE.NAME`). */
  space?: OptionSpace;
}

/** Definitions by name; a sub-option by `space.name`, lower case. */
export type OptionLookup = Map<string, OptionDef>;

export interface OptionEnv extends Notes {
  defs: OptionLookup;
  customOptions: CustomOptionDef[];
  /** Declared option spaces by name (lower case), in declaration order. */
  spaces: Map<string, OptionSpace>;
}

/** Parses after the `option` keyword. Returns the setting, or undefined for a definition. */
export function parseOption(env: OptionEnv, kw: Tok): OptionSetting | undefined {
  const { cur } = env;
  const nameTok = cur.word('an option name', 'write `option NAME value;` with a name from dhcp-options(5)');
  const name = nameTok.text.toLowerCase();
  if (name === 'space') {
    parseSpace(env, kw);
    return undefined;
  }
  const dot = name.indexOf('.');
  const vivsoDef = name.startsWith('vendor.') && cur.isWord('code');
  if (dot > 0 && !vivsoDef && !env.spaces.has(name.slice(0, dot)))
    throw new ParseError(
      nameTok,
      `\`option ${nameTok.text}\`: no option space named "${nameTok.text.slice(0, dot)}"`,
      `declare it first: \`option space ${nameTok.text.slice(0, dot)};\`, then \`option ${nameTok.text} code N = TYPE;\``,
    );
  if (cur.isWord('code')) {
    parseDefinition(env, nameTok);
    return undefined;
  }
  const def = env.defs.get(name) ?? (dot > 0 ? undefined : OPTION_DEFS_BY_NAME.get(name));
  if (!def) {
    if (dot > 0)
      throw new ParseError(
        nameTok,
        `\`option ${nameTok.text}\`: unknown option ${nameTok.text}`,
        `define it first: \`option ${nameTok.text} code N = TYPE;\` (ISC needs the definition above the setting)`,
      );
    const names = [...OPTION_DEFS_BY_NAME.keys(), ...env.defs.keys()];
    const guess = didYouMean(name, names);
    throw new ParseError(
      nameTok,
      `\`option ${nameTok.text}\`: unknown option name`,
      guess
        ? `did you mean \`${guess}\`?`
        : 'use a name from dhcp-options(5), or define it first with `option NAME code N = TYPE;`',
    );
  }
  const stmt = `option ${def.name}`;
  try {
    return parseValue(env, kw, nameTok, def, stmt);
  } catch (e) {
    // Name the statement in errors raised by the generic token helpers.
    if (e instanceof ParseError && !e.message.startsWith('`') && !e.message.startsWith(stmt))
      throw new ParseError(e.tok, `\`${stmt}\`: ${e.message}`, e.hint);
    throw e;
  }
}

function parseValue(env: OptionEnv, kw: Tok, nameTok: Tok, def: OptionDef, stmt: string): OptionSetting {
  const { cur } = env;
  if (def.format) {
    const data = parseFormatted(env, def.format, stmt);
    cur.semi(stmt);
    const setting: OptionSetting = { code: def.code, name: def.name, data, pos: cur.pos(kw) };
    if (def.space) {
      const max = 2 ** (8 * def.space.lengthWidth) - 1;
      if (data.length > max)
        throw new ParseError(
          nameTok,
          `\`${stmt}\`: ${data.length} octets do not fit the ${def.space.lengthWidth}-octet length of space ${def.space.name} (at most ${max})`,
          'shorten the value, or declare the space with `length width 2`',
        );
      setting.space = def.space;
    }
    return setting;
  }
  const type = def.type!;
  const { value, names } = parseTyped(env, type, stmt);
  cur.semi(stmt);
  let data: Uint8Array;
  try {
    data = value ? encodeOptionValue(type, value) : new Uint8Array(0);
  } catch (e) {
    if (e instanceof OptionValueError)
      throw new ParseError(nameTok, `\`${stmt}\`: ${e.message}`, 'fix the value');
    throw e;
  }
  const setting: OptionSetting = { code: def.code, name: def.name, data, pos: cur.pos(kw) };
  if (names) setting.unresolved = names;
  return setting;
}

/** Values of the built-in types; `names` is set when an address list holds host names. */
function parseTyped(
  env: OptionEnv,
  type: OptionType,
  stmt: string,
): { value?: OptionJsValue; names?: Array<Ip4 | string> } {
  const { cur } = env;
  switch (type) {
    case 'ip':
    case 'ips': {
      const ipOrName = (): Ip4 | string => ipOrHost(env, stmt, 'addresses like 192.0.2.1');
      const items = type === 'ip' ? [ipOrName()] : list(cur, ipOrName);
      const ips = items.filter((x): x is Ip4 => typeof x === 'number');
      const value: OptionJsValue | undefined =
        ips.length === 0 ? undefined : type === 'ip' ? { type, value: ips[0]! } : { type, value: ips };
      return ips.length === items.length ? { value: value! } : { ...(value ? { value } : {}), names: items };
    }
    case 'ip-pairs':
      return {
        value: { type, value: list(cur, () => [cur.ip(`${stmt} destination`), cur.ip(`${stmt} router`)]) },
      };
    case 'u8':
    case 'u16':
    case 'u32':
      return { value: { type, value: cur.int(stmt, 0, 2 ** Number(type.slice(1)) - 1) } };
    case 'i32':
      return { value: { type, value: cur.int(stmt, -(2 ** 31), 2 ** 31 - 1) } };
    case 'u8s':
    case 'u16s':
    case 'u32s': {
      const max = 2 ** Number(type.slice(1, -1)) - 1;
      return { value: { type, value: list(cur, () => cur.int(stmt, 0, max)) } };
    }
    case 'bool':
      return { value: { type, value: cur.bool(stmt) } };
    case 'text':
      return { value: { type, value: str(cur, stmt).text } };
    case 'bytes':
      return { value: { type, value: bytes(cur, stmt) } };
    case 'domains':
      return { value: { type, value: list(cur, () => domain(cur, stmt)) } };
    case 'routes':
      return { value: { type, value: list(cur, () => route(cur, stmt)) } };
    case 'fqdn':
    case 'encap':
      throw new ParseError(
        cur.peek(),
        `\`${stmt}\` cannot be set in dhcpd.conf by hadhcp`,
        'remove it: this option is built per request (client FQDN, relay agent information)',
      );
  }
}

function list<T>(cur: Cursor, item: () => T): T[] {
  const out = [item()];
  while (cur.accept(',')) out.push(item());
  return out;
}

function str(cur: Cursor, stmt: string): Tok {
  return cur.expect('string', 'a quoted string', `write the value of \`${stmt}\` in double quotes`);
}

/** ISC's `X` format: colon-separated hex octets, or a quoted string taken byte for byte. */
function bytes(cur: Cursor, stmt: string): Uint8Array {
  const t = cur.peek();
  if (t.kind === 'string') return cur.next().bytes!;
  const w = cur.word('hex octets or a quoted string', `write \`${stmt}\` as 01:02:0a or "text"`);
  const b = parseMac(w.text);
  if (!b && !/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*$/.test(w.text))
    throw new ParseError(
      w,
      `\`${stmt}\`: "${w.text}" is not colon-separated hex`,
      'write octets like 01:00:5e:ff',
    );
  return b ?? Uint8Array.from(w.text.split(':'), (h) => parseInt(h, 16));
}

function domain(cur: Cursor, stmt: string): string {
  const t = cur.peek();
  if (t.kind !== 'string')
    throw new ParseError(
      t,
      `\`${stmt}\`: expected a quoted domain name, found ${describe(t)}`,
      'quote each name: "example.com", "lab.example.com"',
    );
  cur.next();
  if (!/^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$/.test(t.text))
    throw new ParseError(
      t,
      `\`${stmt}\`: "${t.text}" is not a domain name`,
      'use dot-separated labels of 1-63 characters',
    );
  return t.text;
}

/** RFC 3442 route as `NET/LEN ROUTER` (hadhcp syntax: ISC 4.4 has no built-in option 121). */
function route(cur: Cursor, stmt: string): { network: Ip4; prefix: number; router: Ip4 } {
  const t = cur.word(
    'a destination NET/LEN',
    `write \`${stmt} 10.0.0.0/8 192.0.2.1, 0.0.0.0/0 192.0.2.254;\``,
  );
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(t.text);
  const network = m ? parseIp4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : 33;
  if (network === undefined || prefix > 32)
    throw new ParseError(
      t,
      `\`${stmt}\`: "${t.text}" is not NET/LEN`,
      'write the destination like 10.0.0.0/8',
    );
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((network & mask) >>> 0 !== network)
    throw new ParseError(
      t,
      `\`${stmt}\`: ${t.text} has host bits set`,
      'clear the bits past the prefix length',
    );
  return { network, prefix, router: cur.ip(`${stmt} router`) };
}

/* ---------- `option NAME code N = FORMAT;` ---------- */

/**
 * `option space NAME [code width 1|2|4] [length width 1|2] [hash size N];` (dhcp-options(5) "DEFINING NEW
 * OPTIONS"; the widths and their error words as dhcpd 4.4.3 -t gives them). ISC takes a space declared twice
 * without a word; so do we (the first declaration stays).
 */
function parseSpace(env: OptionEnv, kw: Tok): void {
  const { cur } = env;
  const nameTok = cur.word('a space name', 'write `option space NAME;`');
  const name = nameTok.text.toLowerCase();
  let codeWidth: 1 | 2 | 4 = 1;
  let lengthWidth: 1 | 2 = 1;
  while (cur.peek().kind === 'word') {
    const w = cur.next();
    const word = w.text.toLowerCase();
    if (word === 'hash') {
      words(cur, w, 'size');
      cur.int('hash size', 0, 2 ** 31 - 1); // sizes ISC's name table; nothing to do here
      continue;
    }
    if (word !== 'code' && word !== 'length')
      throw new ParseError(
        w,
        `\`option space ${nameTok.text}\`: unexpected "${w.text}"`,
        'write `option space NAME [code width N] [length width N] [hash size N];`',
      );
    words(cur, w, 'width');
    const n = cur.peek();
    const v = cur.int(`${word} width`, 0, 255);
    if (word === 'code') {
      if (v !== 1 && v !== 2 && v !== 4)
        throw new ParseError(
          n,
          `invalid code width (${v}), expecting a 1, 2 or 4`,
          'use 1 (the usual), 2 or 4',
        );
      codeWidth = v;
    } else {
      if (v !== 1 && v !== 2)
        throw new ParseError(n, `invalid length width (${v}) expecting 1 or 2`, 'use 1 (the usual) or 2');
      lengthWidth = v;
    }
  }
  cur.semi(`option space ${nameTok.text}`);
  if (env.spaces.has(name)) return;
  if (name === 'dhcp' || name === 'agent' || name === 'server' || name === 'vendor' || name === 'vivso')
    throw new ParseError(
      nameTok,
      `\`option space ${nameTok.text}\`: "${name}" is one of ISC's built-in option spaces, which hadhcp does not reopen`,
      'give the space a name of its own',
    );
  env.spaces.set(name, { name, codeWidth, lengthWidth, index: env.spaces.size, pos: cur.pos(kw) });
}

function words(cur: Cursor, after: Tok, w: string): void {
  if (!cur.isWord(w))
    throw new ParseError(
      cur.peek(),
      `expected \`${w}\` after \`${after.text}\``,
      `write \`${after.text} ${w} N\``,
    );
  cur.next();
}

function parseDefinition(env: OptionEnv, nameTok: Tok): void {
  const { cur } = env;
  const name = nameTok.text.toLowerCase();
  const dot = name.indexOf('.');
  const space = dot > 0 ? env.spaces.get(name.slice(0, dot)) : undefined;
  // ISC's `vendor` space is RFC 3925 option 125 (vivso): `option vendor.NAME code ENTERPRISE = encapsulate NAME;`.
  const vivso = dot > 0 && name.slice(0, dot) === 'vendor';
  cur.next(); // code
  // A space's codes span its code width, 0 included (dhcp-options(5): code 0 is ISC's pad only in the DHCP space).
  const code = vivso
    ? cur.int('enterprise number', 0, 2 ** 32 - 1)
    : space
      ? cur.int('option code', 0, 2 ** (8 * space.codeWidth) - 1)
      : cur.int('option code', 1, 254);
  cur.expect('=', '`=`', 'write `option NAME code N = TYPE;`');
  const fmtStart = cur.peek();
  if (cur.isWord('encapsulate')) {
    cur.next();
    const target = cur.word(
      'a space name',
      'write `encapsulate NAME;` with a space declared by `option space NAME;`',
    );
    const sp = env.spaces.get(target.text.toLowerCase());
    if (!sp)
      throw new ParseError(
        target,
        `\`encapsulate ${target.text}\`: no option space named "${target.text}"`,
        `declare it above: \`option space ${target.text};\``,
      );
    cur.semi(`option ${nameTok.text} code ${code}`);
    if (space)
      throw new ParseError(
        fmtStart,
        `\`option ${nameTok.text}\`: a sub-option that encapsulates another space is not supported by hadhcp`,
        'encapsulate the space from a DHCP option instead (`option NAME code N = encapsulate SPACE;`)',
      );
    if (vivso) {
      // Measured (conformance lab, "option spaces: 125 ..."): dhcpd 4.4.3 reads this and sends no option 125
      // from it, whether or not the client asks for 125 or sends its own; hadhcp does the same, and says so.
      env.note(
        nameTok,
        'warning',
        `\`option ${nameTok.text} code ${code} = encapsulate ${sp.name};\` builds no option 125: ISC dhcpd 4.4.3 sends none from it, and neither does hadhcp`,
        'to send option 125, set it as bytes: `option vivso 00:00:11:8b:LEN:SUB-OPTIONS...;`',
      );
      return;
    }
    sp.encapsulatedBy = code;
    // Set explicitly, the option takes bytes, like vendor-encapsulated-options (dhcp-options(5)).
    env.defs.set(name, { code, name, type: 'bytes' });
    env.customOptions.push({ name, code, format: `encapsulate ${sp.name}`, pos: cur.pos(fmtStart) });
    return;
  }
  if (vivso)
    throw new ParseError(
      fmtStart,
      `\`option ${nameTok.text}\`: hadhcp reads the vendor (option 125) space only as \`encapsulate SPACE\``,
      `declare the enterprise's own space and write \`option ${nameTok.text} code ${code} = encapsulate SPACE;\``,
    );
  const format = parseFormat(cur);
  cur.semi(`option ${nameTok.text} code ${code}`);
  env.defs.set(name, { code, name, format, ...(space ? { space } : {}) });
  if (!space) env.customOptions.push({ name, code, format: formatText(format), pos: cur.pos(fmtStart) });
}

const ATOM_WORDS: Record<string, Atom> = {
  'ip-address': 'ip',
  text: 'text',
  string: 'string',
  boolean: 'bool',
  'domain-name': 'domain',
  'domain-list': 'domains',
};

function parseFormat(cur: Cursor): Format {
  const start = cur.peek();
  let array = false;
  if (cur.isWord('array')) {
    cur.next();
    if (!cur.isWord('of'))
      throw new ParseError(cur.peek(), 'expected `of` after `array`', 'write `array of TYPE`');
    cur.next();
    array = true;
  }
  const fields: Atom[] = [];
  if (cur.accept('{')) {
    do fields.push(parseAtom(cur));
    while (cur.accept(','));
    cur.expect('}', '`}`', 'close the record type with `}`');
  } else fields.push(parseAtom(cur));
  // dhcpd -t: "text must be at end of record." (a record's text takes the rest of the option).
  const textAt = fields.findIndex((f) => f === 'text' || f === 'string');
  if (textAt >= 0 && textAt < fields.length - 1)
    throw new ParseError(start, 'text must be at end of record', 'move the text or string field to the end');
  if (array && fields.some((f) => f === 'text' || f === 'string' || f === 'domains'))
    throw new ParseError(
      cur.peek(),
      'an array cannot hold text, string or domain-list fields',
      'use a single text/string option',
    );
  return { array, fields };
}

function parseAtom(cur: Cursor): Atom {
  const t = cur.word(
    'an option type',
    'use ip-address, text, string, boolean, [un]signed integer 8|16|32, domain-list',
  );
  const w = t.text.toLowerCase();
  const simple = ATOM_WORDS[w];
  if (simple) {
    if (simple === 'domains' && cur.isWord('compressed')) cur.next();
    return simple;
  }
  let signed = true;
  if (w === 'unsigned' || w === 'signed') {
    signed = w === 'signed';
    if (!cur.isWord('integer'))
      throw new ParseError(cur.peek(), `expected \`integer\` after \`${w}\``, 'write `unsigned integer 8`');
    cur.next();
  } else if (w !== 'integer') {
    throw new ParseError(
      t,
      `unknown option type "${t.text}"`,
      'use ip-address, text, string, boolean, [un]signed integer 8|16|32, domain-list',
    );
  }
  const bits = cur.word('8, 16 or 32', 'give the integer width: 8, 16 or 32');
  if (!['8', '16', '32'].includes(bits.text))
    throw new ParseError(bits, `integer width ${bits.text} is not 8, 16 or 32`, 'use 8, 16 or 32');
  return `${signed ? 'i' : 'u'}${bits.text}` as Atom;
}

function formatText(f: Format): string {
  const names: Record<Atom, string> = {
    ip: 'ip-address',
    text: 'text',
    string: 'string',
    bool: 'boolean',
    u8: 'unsigned integer 8',
    u16: 'unsigned integer 16',
    u32: 'unsigned integer 32',
    i8: 'signed integer 8',
    i16: 'signed integer 16',
    i32: 'signed integer 32',
    domain: 'domain-name',
    domains: 'domain-list',
  };
  const body =
    f.fields.length === 1 ? names[f.fields[0]!] : `{ ${f.fields.map((a) => names[a]).join(', ')} }`;
  return f.array ? `array of ${body}` : body;
}

/** Record fields are space-separated, array items comma-separated (dhcp-options(5) "DEFINING NEW OPTIONS"). */
function parseFormatted(env: OptionEnv, f: Format, stmt: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const record = () => f.fields.forEach((a) => parts.push(atomValue(env, a, stmt)));
  record();
  if (f.array) while (env.cur.accept(',')) record();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function atomValue(env: OptionEnv, a: Atom, stmt: string): Uint8Array {
  const { cur } = env;
  switch (a) {
    case 'ip':
      return encodeOptionValue('ip', { type: 'ip', value: cur.ip(stmt) });
    case 'text':
      return new TextEncoder().encode(str(cur, stmt).text);
    case 'string':
      return bytes(cur, stmt);
    case 'bool':
      return Uint8Array.of(cur.bool(stmt) ? 1 : 0);
    case 'domain':
      return encodeDomainList([domain(cur, stmt)]);
    case 'domains':
      return encodeDomainList(list(cur, () => domain(cur, stmt)));
    default: {
      const bits = Number(a.slice(1));
      const t = cur.word(stmt, `give \`${stmt}\` a number`);
      const signed = a.startsWith('i');
      // dhcpd -t bounds plain `integer 8` by 255 ("300 exceeds max (255)"), so signed atoms accept the
      // unsigned range too; the bytes are the same two's complement either way.
      const n = checkInt(t, stmt, signed ? -(2 ** (bits - 1)) : 0, 2 ** bits - 1);
      const out = new Uint8Array(bits / 8);
      const v = n < 0 ? n + 2 ** bits : n;
      for (let k = 0; k < out.length; k++) out[k] = Math.floor(v / 2 ** (8 * (out.length - 1 - k))) & 0xff;
      return out;
    }
  }
}
