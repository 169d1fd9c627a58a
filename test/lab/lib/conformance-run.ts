// Runs the conformance scenarios against one server: requests built with the project's encoder (or broken on
// purpose afterwards), sent as a client or as a relay, and the replies captured for each step.
import { formatIp4 } from '../../../packages/common/src/index.js';
import {
  decodeDhcp,
  encodeDhcp,
  isWireError,
  MessageType,
  type DhcpMessage,
  type DhcpOption,
} from '../../../packages/dhcp/src/index.js';
import { AddressNames, normalise, type StepRecord } from './conformance-compare.js';
import {
  ReplyCapture,
  sendFromClient,
  sendFromRelay,
  type CapturedReply,
  type ConformanceNet,
} from './conformance-net.js';

/** How long a step waits for a first reply before calling it silence, and then for more. */
export const SILENCE_MS = 2000;
const SETTLE_MS = 300;

export interface Req {
  /** undefined: a BOOTP request (no option 53). */
  type: MessageType | undefined;
  mac: string;
  ciaddr?: string;
  /** Relayed requests default to 10.1.2.1. */
  giaddr?: string;
  flags?: number;
  hops?: number;
  /** Parameter request list (55). */
  prl?: number[];
  requested?: string;
  serverId?: string;
  clientId?: number[];
  maxSize?: number;
  lease?: number;
  hostName?: string;
  /** Relay agent information (82) sub-options, as a relay adds them. */
  agent?: { circuit: string; remote: string };
  /** More options, as raw (code, bytes), after the others (82 still last: the encoder puts it there). */
  extra?: [number, number[]][];
  /** Rewrites the encoded bytes (to break them, or to pad them). */
  mutate?: (b: Uint8Array) => Uint8Array;
  /** The request is broken on purpose (for the accepted-difference rules). */
  malformed?: boolean;
}

export interface Ctx {
  /** A client on the directly attached segment: broadcast, or unicast to the server from ciaddr (`unicast`). */
  direct(label: string, req: Req, o?: { unicast?: boolean }): Promise<CapturedReply[]>;
  /** The same request through the relay agent (giaddr set, hops 1 unless given). */
  relay(label: string, req: Req): Promise<CapturedReply[]>;
  sleep(ms: number): Promise<void>;
}

export interface Scenario {
  name: string;
  /** Addresses the script names itself: shown as they are, not as pool#N. */
  literals?: string[];
  run(ctx: Ctx): Promise<unknown>;
}

export interface ScenarioResult {
  name: string;
  steps: StepRecord[];
  /** The pool addresses behind the scenario's pool#N names. */
  addresses: Record<string, string>;
  error?: string;
}

const ip4 = (s: string): number => s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);
const macBytes = (m: string): Uint8Array => Uint8Array.from(m.split(':').map((x) => parseInt(x, 16)));
const u32 = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
const u16 = (v: number): Uint8Array => Uint8Array.of(v >>> 8, v & 255);

/** The yiaddr of the first reply, dotted (0.0.0.0 when there was none). */
export function yiaddrOf(replies: CapturedReply[]): string {
  return formatIp4(replies[0]?.msg.yiaddr ?? 0);
}

export function buildRequest(r: Req, xid: number, relayed: boolean): DhcpMessage {
  const options: DhcpOption[] = [];
  const add = (code: number, data: Uint8Array): void => void options.push({ code, data });
  if (r.type !== undefined) add(53, Uint8Array.of(r.type));
  if (r.clientId) add(61, Uint8Array.from(r.clientId));
  if (r.requested) add(50, u32(ip4(r.requested)));
  if (r.serverId) add(54, u32(ip4(r.serverId)));
  if (r.lease !== undefined) add(51, u32(r.lease));
  if (r.maxSize !== undefined) add(57, u16(r.maxSize));
  if (r.hostName) add(12, new TextEncoder().encode(r.hostName));
  if (r.prl) add(55, Uint8Array.from(r.prl));
  for (const [code, data] of r.extra ?? []) add(code, Uint8Array.from(data));
  if (r.agent) {
    const c = Buffer.from(r.agent.circuit);
    const rem = Buffer.from(r.agent.remote);
    add(82, Uint8Array.from([1, c.length, ...c, 2, rem.length, ...rem]));
  }
  const chaddr = new Uint8Array(16);
  chaddr.set(macBytes(r.mac));
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: r.hops ?? (relayed ? 1 : 0),
    xid,
    secs: 0,
    flags: r.flags ?? 0,
    ciaddr: ip4(r.ciaddr ?? '0.0.0.0'),
    yiaddr: 0,
    siaddr: 0,
    giaddr: relayed ? ip4(r.giaddr ?? '10.1.2.1') : 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    hasCookie: true,
    options,
  };
}

/** Runs every scenario in order against the server now running; captures start and stop around the run. */
export async function runScenarios(
  capture: ReplyCapture,
  net: ConformanceNet,
  scenarios: Scenario[],
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const [si, sc] of scenarios.entries()) {
    const steps: StepRecord[] = [];
    const names = new AddressNames(new Set(sc.literals ?? []));
    const exchange = async (
      label: string,
      r: Req,
      send: (bytes: Uint8Array) => Promise<void>,
      relayed: boolean,
    ): Promise<CapturedReply[]> => {
      const xid = (0x5c000000 | (si << 8) | steps.length) >>> 0;
      const request = buildRequest(r, xid, relayed);
      let bytes = encodeDhcp(request);
      if (r.mutate) bytes = r.mutate(bytes);
      await send(bytes);
      const t0 = Date.now();
      let replies: CapturedReply[] = [];
      while (Date.now() - t0 < SILENCE_MS) {
        await sleep(50);
        replies = capture.replies(xid);
        if (replies.length > 0) {
          await sleep(SETTLE_MS);
          replies = capture.replies(xid);
          break;
        }
      }
      const decoded = decodeDhcp(bytes);
      steps.push({
        label,
        request: isWireError(decoded) ? request : decoded,
        malformed: r.malformed ?? false,
        replies: replies.map((x) => normalise(x, names)),
      });
      return replies;
    };
    const ctx: Ctx = {
      direct: (label, r, o = {}) =>
        exchange(
          label,
          r,
          (b) =>
            sendFromClient(net, b, {
              chaddr: macBytes(r.mac),
              srcIp: r.ciaddr,
              toServer: o.unicast,
            }),
          false,
        ),
      relay: (label, r) => exchange(label, r, (b) => sendFromRelay(net, b), true),
      sleep,
    };
    try {
      await sc.run(ctx);
      results.push({ name: sc.name, steps, addresses: names.mapping() });
    } catch (e) {
      results.push({
        name: sc.name,
        steps,
        addresses: names.mapping(),
        error: (e as Error).stack ?? String(e),
      });
    }
  }
  return results;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
