// lib/null-dhcp.c in node (node:dgram): a DHCP "server" that answers every relayed DISCOVER with an OFFER and every
// REQUEST with an ACK for a made-up address, with no lease state, no configuration and no disk. What it costs per
// exchange is node's own floor on this machine (an event-loop turn, a datagram in and one out per packet), the part
// of hadhcp's CPU per exchange that no change in hadhcp's code can remove. Built for `pnpm bench dhcp
// --servers=null-node`; not a DHCP server.
//
//   node null-dhcp.mjs <server-ip>      (binds <server-ip>:67; replies go to giaddr:67 from it)
import dgram from 'node:dgram';

const MAGIC_AT = 236;
const self = process.argv[2];
if (!self) {
  process.stderr.write('usage: node null-dhcp.mjs <server-ip>\n');
  process.exit(2);
}
const selfBytes = self.split('.').map(Number);
let next = 0;

/** The value of option `code` (its offset in q), or -1. */
function option(q, code) {
  for (let o = MAGIC_AT + 4; o + 1 < q.length && q[o] !== 255; ) {
    if (q[o] === 0) {
      o++;
      continue;
    }
    if (q[o] === code) return o + 2 <= q.length ? o + 2 : -1;
    o += 2 + q[o + 1];
  }
  return -1;
}

const s = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 1 << 20 });
s.on('message', (q) => {
  if (q.length < MAGIC_AT + 7 || q[0] !== 1) return;
  const t = option(q, 53);
  const type = t < 0 ? 0 : q[t];
  if (type !== 1 && type !== 3) return;
  const out = Buffer.alloc(300); // its own: a send may wait in libuv's queue
  q.copy(out, 0, 0, MAGIC_AT + 4); // header, chaddr, giaddr, xid, magic cookie
  out[0] = 2;
  const asked = type === 3 ? option(q, 50) : -1;
  if (asked >= 0) q.copy(out, 16, asked, asked + 4);
  else out.writeUInt32BE((0x0a100100 + (next++ % 0xe0000)) >>> 0, 16); // 10.16.1.0 + n
  out.set(selfBytes, 20); // siaddr
  out.fill(0, 12, 16); // ciaddr
  const opts = [53, 1, type === 1 ? 2 : 5, 54, 4, ...selfBytes, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 240, 0, 0, 255];
  out.set(opts, MAGIC_AT + 4);
  const giaddr = `${q[24]}.${q[25]}.${q[26]}.${q[27]}`;
  s.send(out, 0, 300, 67, giaddr);
});
s.bind(67, self, () => process.stderr.write(`null-dhcp (node): listening on ${self}:67\n`));
