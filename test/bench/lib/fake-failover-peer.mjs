// A scripted failover partner that costs next to nothing per lease, for `pnpm bench failover --parts=alone`:
// with it, a resync measures one hadhcp node and not the pair. It speaks our own codec (packages/failover/dist).
//
//   node fake-failover-peer.mjs primary <listen-ip> <peer-ip> <leases>
//     Listens on <listen-ip>:647 and, for the hadhcp secondary that connects from <peer-ip>: CONNECT, STATE
//     partner-down; answers its UPDREQALL with <leases> ACTIVE leases (encoded before the secondary is started:
//     "ready" on stderr), as many in flight as its CONNECTACK allows, then UPDDONE.
//   node fake-failover-peer.mjs secondary <local-ip> <peer-ip> <window>
//     Dials <peer-ip>:647 from <local-ip>: CONNECTACK, STATE recover, UPDREQALL with max-unacked <window>; each
//     BNDUPD is acknowledged at once (xid and address copied into a prepared BNDACK, nothing decoded).
// Both print one line `FAKE {json}` with what they saw (ms from UPDREQALL to the last BNDACK or to UPDDONE, their
// own CPU), and exit once the link closes or the work is done.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const fo = await import(join(root, 'packages/failover/dist/index.js'));
const { connectMessage, connectAckMessage } = await import(
  join(root, 'packages/failover/dist/service/handshake.js')
);
const { bndUpdFor } = await import(join(root, 'packages/failover/dist/core/bindings.js'));
const { encodeMessage, decodeMessage, takeMessages, MessageType, ServerState, OptionCode } = fo;

const [mode, me, peer, arg] = process.argv.slice(2);
const NAME = Buffer.from(process.env.FAKE_RELATIONSHIP ?? 'bench');
const now = () => Math.floor(Date.now() / 1000);
const report = (o) => {
  const c = process.cpuUsage();
  process.stdout.write(`FAKE ${JSON.stringify({ ...o, cpuS: (c.user + c.system) / 1e6 })}\n`);
};

/** The leases the bench's writeLeases() makes: from 10.16.1.0 up, ACTIVE for a day, acknowledged. */
function lease(k, t) {
  const mac = [0x52, 0x54, (k >>> 24) & 255, (k >>> 16) & 255, (k >>> 8) & 255, k & 255];
  const ends = t + 86400;
  return {
    address: (((10 << 24) | (16 << 16) | (1 << 8)) + k) >>> 0,
    state: 2,
    starts: t - 600,
    ends,
    tstp: ends,
    tsfp: ends,
    atsfp: ends,
    cltt: t - 600,
    hwType: 1,
    hwAddr: new Uint8Array(mac),
    clientId: new Uint8Array([1, ...mac]),
  };
}

function primary(n) {
  const t = now();
  const pre = [];
  for (let k = 0; k < n; k++) pre.push(Buffer.from(encodeMessage(bndUpdFor(lease(k, t), t, 1000 + k))));
  let xid = 1;
  const srv = net.createServer((s) => {
    if (s.remoteAddress?.replace(/^::ffff:/, '') !== peer) return s.destroy();
    s.setNoDelay(true);
    const send = (m) => s.write(encodeMessage(m));
    const params = { name: NAME, maxUnacked: 10, receiveTimer: 30, vendorClass: Buffer.from('bench-fake') };
    send(connectMessage(params, { time: now(), xid: xid++, mclt: 60, hba: new Uint8Array(32).fill(0xff) }));
    let rest = new Uint8Array(0);
    let window = 0;
    let next = 0;
    let acked = 0;
    let inflight = 0;
    let asked;
    let t0 = 0;
    const pump = () => {
      const out = [];
      while (asked !== undefined && inflight < window && next < n) {
        out.push(pre[next++]);
        inflight++;
      }
      if (out.length) s.write(out.length === 1 ? out[0] : Buffer.concat(out));
    };
    s.on('data', (chunk) => {
      const r = takeMessages(rest, chunk);
      rest = r.rest;
      for (const b of r.messages) {
        const m = decodeMessage(b);
        if (m.type === MessageType.CONNECTACK) {
          window = m.maxUnacked ?? 0;
          send({
            type: MessageType.STATE,
            time: now(),
            xid: xid++,
            serverState: ServerState.PARTNER_DOWN,
            serverFlags: 0,
            stos: now() - 100,
          });
        } else if (m.type === MessageType.UPDREQALL) {
          asked = m.xid;
          t0 = performance.now();
        } else if (m.type === MessageType.BNDACK) {
          inflight--;
          if (++acked === n) {
            send({ type: MessageType.UPDDONE, time: now(), xid: asked });
            report({ leases: n, window, msToLastAck: performance.now() - t0 });
          }
        }
      }
      pump();
    });
    s.on('error', () => undefined);
    s.on('close', () => process.exit(0));
  });
  srv.listen(647, me, () => process.stderr.write('ready\n'));
}

function secondary(window) {
  const ack = Buffer.from(encodeMessage({ type: MessageType.BNDACK, time: now(), xid: 0, assignedIp: 0 }));
  const params = { name: NAME, maxUnacked: window, receiveTimer: 30, vendorClass: Buffer.from('bench-fake') };
  const dial = () => {
    const s = net.connect({ host: peer, port: 647, localAddress: me, noDelay: true });
    let rest = new Uint8Array(0);
    let xid = 1;
    let n = 0;
    let t0 = 0;
    const send = (m) => s.write(encodeMessage(m));
    s.on('error', () => setTimeout(dial, 200));
    s.on('data', (chunk) => {
      const r = takeMessages(rest, chunk);
      rest = r.rest;
      const acks = [];
      for (const b of r.messages) {
        if (b[2] === MessageType.BNDUPD) {
          const a = Buffer.from(ack);
          a.set(b.subarray(8, 12), 8); // the xid
          for (let off = b[3]; off + 4 <= b.length; off += 4 + ((b[off + 2] << 8) | b[off + 3])) {
            if (((b[off] << 8) | b[off + 1]) === OptionCode.ASSIGNED_IP_ADDRESS) {
              a.set(b.subarray(off + 4, off + 8), 16);
              break;
            }
          }
          acks.push(a);
          n++;
          continue;
        }
        const m = decodeMessage(b);
        if (m.type === MessageType.CONNECT) {
          send(connectAckMessage(params, m, { time: now() }));
          send({
            type: MessageType.STATE,
            time: now(),
            xid: xid++,
            serverState: ServerState.RECOVER,
            serverFlags: 0,
            stos: now(),
          });
          send({ type: MessageType.UPDREQALL, time: now(), xid: xid++ });
          t0 = performance.now();
        } else if (m.type === MessageType.UPDDONE) {
          report({ leases: n, window, msToUpdDone: performance.now() - t0 });
          s.end();
          setTimeout(() => process.exit(0), 100);
        }
      }
      if (acks.length) s.write(acks.length === 1 ? acks[0] : Buffer.concat(acks));
    });
  };
  dial();
}

if (mode === 'primary') primary(Number(arg));
else if (mode === 'secondary') secondary(Number(arg));
else {
  process.stderr.write('usage: fake-failover-peer.mjs primary|secondary <my-ip> <peer-ip> <leases|window>\n');
  process.exit(2);
}
