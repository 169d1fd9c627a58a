/**
 * A minimal reader for classic libpcap files, for test vectors: both byte orders, microsecond (a1b2c3d4) and
 * nanosecond (a1b23c4d) magic. pcapng is not supported. A truncated last record is ignored, as tcpdump does.
 */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

export interface PcapRecord {
  /** Capture time in seconds since the epoch, with the file's sub-second precision. */
  ts: number;
  linkType: number;
  /** The captured bytes (incl_len), a view into the file buffer. */
  data: Uint8Array;
}

/** Parses a classic pcap file. Throws on a bad magic number: the caller handed us something that is not pcap. */
export function readPcap(file: Uint8Array): PcapRecord[] {
  if (file.length < 24) throw new Error(`pcap: ${file.length} bytes is shorter than the 24-byte file header`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicBE = dv.getUint32(0, false);
  const magicLE = dv.getUint32(0, true);
  const magic = [0xa1b2c3d4, 0xa1b23c4d].includes(magicBE) ? magicBE : magicLE;
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) {
    throw new Error(`pcap: bad magic 0x${magicBE.toString(16)} (pcapng is not supported)`);
  }
  const le = magic === magicLE;
  const fracDiv = magic === 0xa1b23c4d ? 1e9 : 1e6;
  // The low 16 bits carry the link type; the upper bits may hold FCS flags (pcap-savefile(5)).
  const linkType = dv.getUint32(20, le) & 0xffff;
  const out: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= file.length) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    if (off + 16 + incl > file.length) break;
    out.push({ ts: sec + frac / fracDiv, linkType, data: file.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return out;
}

/**
 * Returns the record as an Ethernet II frame: as is for link type 1; for Linux cooked captures (SLL, SLL2) a
 * synthetic Ethernet header (destination zero, source from the cooked header, same EtherType) replaces the cooked
 * one so that one frame parser serves all captures. Undefined for other link types or short records.
 */
export function pcapRecordToEthernet(rec: PcapRecord): Uint8Array | undefined {
  const d = rec.data;
  let hdr: number;
  let proto: number;
  let addrOff: number;
  let addrLen: number;
  if (rec.linkType === LINKTYPE_ETHERNET) return d;
  if (rec.linkType === LINKTYPE_LINUX_SLL) {
    if (d.length < 16) return undefined;
    [hdr, proto, addrOff, addrLen] = [16, (d[14]! << 8) | d[15]!, 6, (d[4]! << 8) | d[5]!];
  } else if (rec.linkType === LINKTYPE_LINUX_SLL2) {
    if (d.length < 20) return undefined;
    [hdr, proto, addrOff, addrLen] = [20, (d[0]! << 8) | d[1]!, 12, d[11]!];
  } else {
    return undefined;
  }
  const eth = new Uint8Array(14 + d.length - hdr);
  eth.set(d.subarray(addrOff, addrOff + Math.min(addrLen, 6)), 6);
  eth[12] = proto >>> 8;
  eth[13] = proto & 255;
  eth.set(d.subarray(hdr), 14);
  return eth;
}
