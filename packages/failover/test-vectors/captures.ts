/**
 * The ISC failover messages in server-lan.pcap (a copy of ../shared/captures/server-lan.pcap: ISC dhcpd
 * 4.4.3-P1, 10.0.0.2 primary and 10.0.0.3 secondary, relationship "dhcp-failover", split 128, mclt 3600,
 * max-unacked-updates 10, max-response-delay 30; see the README there for the sequence recorded).
 *
 * Each direction of each TCP connection on port 647 is reassembled by sequence number and cut at the messages'
 * length fields, independently of the framer under test. server-lan.dhcpfo.json is what Wireshark's dissector shows
 * for the same messages (written by tshark-export.mjs), to compare our decoding with.
 */
import { readFileSync } from 'node:fs';
import { formatIp4, pcapRecordToEthernet, readIp4, readPcap } from '@hadhcp/common';

export interface CapturedMessage {
  /** Frame (1-based, as tshark numbers them) holding the message's first byte. */
  frame: number;
  /** "10.0.0.2:51951>10.0.0.3:647" */
  direction: string;
  /** Byte offset of the message in its direction's stream. */
  streamOffset: number;
  bytes: Uint8Array;
}

export interface TcpStream {
  direction: string;
  /** The reassembled payload bytes, in order. */
  data: Uint8Array;
  /** For each byte of `data`, the frame it arrived in. */
  frameOf: number[];
}

export function loadCapture(file = 'server-lan.pcap'): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, import.meta.url)));
}

interface Segment {
  frame: number;
  seq: number;
  data: Uint8Array;
}

/** Every direction of every TCP connection with port 647 on one side, payload reassembled in sequence order. */
export function failoverStreams(file = 'server-lan.pcap'): TcpStream[] {
  const bySide = new Map<string, Segment[]>();
  readPcap(loadCapture(file)).forEach((rec, i) => {
    const eth = pcapRecordToEthernet(rec);
    if (!eth || eth.length < 34 || eth[12] !== 0x08 || eth[13] !== 0x00) return;
    const ip = eth.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    const total = (ip[2]! << 8) | ip[3]!;
    if (ip[9] !== 6 || ip.length < ihl + 20) return;
    const tcp = ip.subarray(ihl, Math.min(total, ip.length));
    const sport = (tcp[0]! << 8) | tcp[1]!;
    const dport = (tcp[2]! << 8) | tcp[3]!;
    if (sport !== 647 && dport !== 647) return;
    const dataOff = (tcp[12]! >> 4) * 4;
    const data = tcp.subarray(dataOff);
    if (data.length === 0) return;
    const direction = `${formatIp4(readIp4(ip, 12))}:${sport}>${formatIp4(readIp4(ip, 16))}:${dport}`;
    const segs = bySide.get(direction) ?? [];
    segs.push({ frame: i + 1, seq: readIp4(tcp, 4), data });
    bySide.set(direction, segs);
  });
  return [...bySide].map(([direction, segs]) => {
    segs.sort((a, b) => a.seq - b.seq);
    const bytes: number[] = [];
    const frameOf: number[] = [];
    const start = segs[0]!.seq;
    for (const s of segs) {
      // A retransmission overlaps what we have: keep only its new bytes.
      const skip = start + bytes.length - s.seq;
      if (skip < 0) throw new Error(`${direction}: ${-skip} byte(s) missing before frame ${s.frame}`);
      for (const b of s.data.subarray(skip)) {
        bytes.push(b);
        frameOf.push(s.frame);
      }
    }
    return { direction, data: Uint8Array.from(bytes), frameOf };
  });
}

/** Every whole failover message in the capture, ordered by frame and then by position (tshark's order). */
export function capturedMessages(file = 'server-lan.pcap'): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  for (const s of failoverStreams(file)) {
    let off = 0;
    while (s.data.length - off >= 2) {
      const len = (s.data[off]! << 8) | s.data[off + 1]!;
      if (len < 12 || s.data.length - off < len) break; // the capture stops mid-conversation
      out.push({
        frame: s.frameOf[off]!,
        direction: s.direction,
        streamOffset: off,
        bytes: s.data.slice(off, off + len),
      });
      off += len;
    }
  }
  return out.sort((a, b) => a.frame - b.frame || a.streamOffset - b.streamOffset);
}

export interface TsharkOption {
  code: number;
  length: number;
  /** Dissector field name (without "dhcpfo.") -> what tshark shows and the raw bytes in hex. */
  fields: Record<string, { show: string; value: string }>;
}

export interface TsharkMessage {
  frame: number;
  length: number;
  type: number;
  poffset: number;
  /** Raw header bytes, hex. */
  time: string;
  xid: string;
  options: TsharkOption[];
}

export function tsharkMessages(): TsharkMessage[] {
  const json = JSON.parse(readFileSync(new URL('server-lan.dhcpfo.json', import.meta.url), 'utf8')) as {
    messages: TsharkMessage[];
  };
  return json.messages;
}
