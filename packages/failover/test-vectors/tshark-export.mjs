#!/usr/bin/env node
// Writes server-lan.dhcpfo.json: every DHCP failover message in server-lan.pcap as Wireshark 4.0's dissector
// (Debian tshark, `-d tcp.port==647,dhcpfo`) shows it, so that the tests can compare our decoding with an
// independent one without needing tshark. Run from this folder: node tshark-export.mjs
// The dissector's labels for types 7 and 9 are swapped (draft-07 names); the numbers are what we compare.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

// tshark exits 2 on this capture ("cut short in the middle of a packet": the last record is truncated) after
// printing every whole packet, so its status is not an error here.
const run = spawnSync(
  'tshark',
  ['-r', 'server-lan.pcap', '-d', 'tcp.port==647,dhcpfo', '-Y', 'dhcpfo', '-T', 'pdml'],
  {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  },
);
if (run.error || !run.stdout.includes('</pdml>'))
  throw run.error ?? new Error(`tshark failed: ${run.stderr}`);
const pdml = run.stdout;

const get = (line, name) => new RegExp(`\\s${name}="([^"]*)"`).exec(line)?.[1];

const messages = [];
let frame = 0;
let msg;
let opt;
for (const line of pdml.split('\n')) {
  const name = get(line, 'name');
  if (name === 'num' && line.includes('<field')) frame = Number(get(line, 'show'));
  if (line.includes('<proto name="dhcpfo"')) {
    msg = { frame, length: 0, type: 0, poffset: 0, time: '', xid: '', options: [] };
    messages.push(msg);
    opt = undefined;
    continue;
  }
  if (!msg || !name?.startsWith('dhcpfo.')) continue;
  const field = name.slice('dhcpfo.'.length);
  const show = get(line, 'show');
  const value = get(line, 'value');
  if (field === 'dhcpstyleoption') {
    opt = { code: 0, length: 0, fields: {} };
    msg.options.push(opt);
  } else if (field === 'optioncode') opt.code = Number(show);
  else if (field === 'optionlength') opt.length = Number(show);
  else if (opt) opt.fields[field] = { show, value };
  else if (['length', 'type', 'poffset'].includes(field)) msg[field] = Number(show);
  else if (field === 'time' || field === 'xid') msg[field] = value;
}

const out = {
  source:
    'tshark 4.0.17 (Debian 12) -r server-lan.pcap -d tcp.port==647,dhcpfo -Y dhcpfo -T pdml, via tshark-export.mjs. ' +
    'Capture: ../shared/captures/server-lan.pcap (ISC dhcpd 4.4.3-P1 failover pair 10.0.0.2 primary / 10.0.0.3 ' +
    'secondary). time and xid are the raw header bytes in hex; option fields are tshark show/value.',
  messages,
};
const body = out.messages.map((m) => '    ' + JSON.stringify(m)).join(',\n');
writeFileSync(
  'server-lan.dhcpfo.json',
  `{\n  "source": ${JSON.stringify(out.source)},\n  "messages": [\n${body}\n  ]\n}\n`,
);
console.log(`${messages.length} messages`);
