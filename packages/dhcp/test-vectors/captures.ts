/**
 * Extracts every DHCP packet (UDP port 67 or 68) from the captured pcaps in this folder, for the wire tests.
 * The captures come from real peers (ISC dhcpd 4.4.3-P1, dhcrelay, dhclient, udhcpc, dhcpcd); see
 * ../shared/captures/README.md for how they were recorded.
 */
import { readFileSync } from 'node:fs';
import { pcapRecordToEthernet, readPcap } from '@hadhcp/common';
import { isWireError, parseUdpFrame, type UdpFrame } from '../src/index.js';

export interface CapturedDhcp {
  file: string;
  /** 1-based frame number, as tshark prints it. */
  frameNo: number;
  /** The whole Ethernet frame as captured. */
  raw: Uint8Array;
  frame: UdpFrame;
  /** The UDP payload: the DHCP message. */
  payload: Uint8Array;
}

export const CAPTURE_FILES = ['client-lan.pcap', 'server-lan.pcap'] as const;

export function loadCapture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, import.meta.url)));
}

export function capturedDhcp(file: string): CapturedDhcp[] {
  const out: CapturedDhcp[] = [];
  readPcap(loadCapture(file)).forEach((rec, i) => {
    const eth = pcapRecordToEthernet(rec);
    if (!eth) return;
    const frame = parseUdpFrame(eth);
    if (isWireError(frame)) return;
    const ports = [frame.srcPort, frame.dstPort];
    if (!ports.includes(67) && !ports.includes(68)) return;
    out.push({ file, frameNo: i + 1, raw: eth, frame, payload: frame.payload });
  });
  return out;
}

export function allCapturedDhcp(): CapturedDhcp[] {
  return CAPTURE_FILES.flatMap((f) => capturedDhcp(f));
}
