// ARP who-has for one address every N ms out of one interface (the VRRP bench's observer: the answers, seen by
// the capture on the bridge, say when the VIP answers ARP from its new owner). No arping binary here, so a raw
// frame through hadhcp's own addon (@hadhcp/native, an AF_PACKET socket; packages/vrrp depends on it). Plain
// JavaScript: it runs as its own node process inside the observer's namespace.
//   node arping.mjs IFACE SENDER_IP TARGET_IP INTERVAL_MS
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../packages/vrrp/package.json', import.meta.url));
const { openPacketSocket, sendFrame, closeSocket } = require('@hadhcp/native');
const [iface, senderIp, targetIp, intervalMs = '10'] = process.argv.slice(2);
const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().split(':').map((h) => parseInt(h, 16));
const ip = (s) => s.split('.').map(Number);
const frame = Buffer.from([
  ...[255, 255, 255, 255, 255, 255], ...mac, 0x08, 0x06,
  0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet/IPv4, request
  ...mac, ...ip(senderIp), ...[0, 0, 0, 0, 0, 0], ...ip(targetIp),
]);
const sock = openPacketSocket(iface);
const t = setInterval(() => sendFrame(sock.fd, frame), Number(intervalMs));
const stop = () => {
  clearInterval(t);
  closeSocket(sock.fd);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`arping ${targetIp} on ${iface} every ${intervalMs} ms`);
