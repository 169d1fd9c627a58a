/**
 * Minimal classic-pcap reader for the VRRP tests (a shared reader at @hadhcp/common's pcap.ts did not exist yet
 * when these tests were written; switch to it once it lands). Reads little/big-endian, micro/nanosecond files;
 * stops quietly at a record cut short (server-lan.pcap's last record is).
 */
export interface PcapRecord {
  index: number;
  tsMs: number;
  data: Uint8Array;
}

export function readPcap(file: Uint8Array): { linkType: number; records: PcapRecord[] } {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!little && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error('not a pcap file');
  const linkType = dv.getUint32(20, little);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= file.length) {
    const sec = dv.getUint32(off, little);
    const frac = dv.getUint32(off + 4, little);
    const incl = dv.getUint32(off + 8, little);
    if (off + 16 + incl > file.length) break;
    records.push({
      index: records.length + 1,
      tsMs: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3),
      data: file.subarray(off + 16, off + 16 + incl),
    });
    off += 16 + incl;
  }
  return { linkType, records };
}

/** The IPv4 packets of Ethernet (DLT 1) frames, with the frame number tshark would show. */
export function ipv4Frames(file: Uint8Array): { frame: number; tsMs: number; ip: Uint8Array }[] {
  const { linkType, records } = readPcap(file);
  if (linkType !== 1) throw new Error(`link type ${linkType}, expected Ethernet`);
  return records
    .filter((r) => r.data.length > 14 && r.data[12] === 0x08 && r.data[13] === 0x00)
    .map((r) => ({ frame: r.index, tsMs: r.tsMs, ip: r.data.subarray(14) }));
}
