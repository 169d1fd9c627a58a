// ARP who-has for one address every N ms out of one interface (the VRRP bench's observer: the answers, seen by
// the capture on the bridge, say when the VIP answers ARP from its new owner). No arping binary here, so a raw
// frame through libpcap (`cap`, already built for packages/vrrp).
//   node arping.mjs IFACE SENDER_IP TARGET_IP INTERVAL_MS
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../packages/vrrp/package.json', import.meta.url));
const { Cap } = require('cap');
const [iface, senderIp, targetIp, intervalMs = '10'] = process.argv.slice(2);
const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().split(':').map((h) => parseInt(h, 16));
const ip = (s) => s.split('.').map(Number);
const frame = Buffer.from([
  ...[255, 255, 255, 255, 255, 255], ...mac, 0x08, 0x06,
  0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet/IPv4, request
  ...mac, ...ip(senderIp), ...[0, 0, 0, 0, 0, 0], ...ip(targetIp),
]);
const c = new Cap();
c.open(iface, 'ether proto 0x88b5', 64 * 1024, Buffer.alloc(2048));
const t = setInterval(() => c.send(frame, frame.length), Number(intervalMs));
const stop = () => {
  clearInterval(t);
  c.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`arping ${targetIp} on ${iface} every ${intervalMs} ms`);
