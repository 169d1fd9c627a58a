/**
 * The control channel speaks Kea's shape so that operators' scripts and habits carry over:
 * request `{"command": "...", "arguments": {...}}`, response `{"result": 0..4, "text": "...", "arguments": ...}`.
 * One request per connection, answered and closed (as Kea's Unix socket does), so `socat` one-liners work.
 */
export const Result = {
  SUCCESS: 0,
  ERROR: 1,
  UNSUPPORTED: 2,
  EMPTY: 3,
  CONFLICT: 4,
} as const;
export type ResultCode = (typeof Result)[keyof typeof Result];

export interface ControlRequest {
  command: string;
  arguments?: Record<string, unknown>;
}

export interface ControlResponse {
  result: ResultCode;
  text?: string;
  arguments?: unknown;
}

export type CommandHandler = (args: Record<string, unknown>) => ControlResponse | Promise<ControlResponse>;

/** Requests larger than this are refused: nothing a command needs comes near it. */
export const MAX_REQUEST_BYTES = 1 << 20;

/** Parses one request; returns an error response for anything that is not a well-formed command. */
export function parseRequest(text: string): ControlRequest | ControlResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { result: Result.ERROR, text: `invalid JSON: ${(e as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { result: Result.ERROR, text: 'request must be a JSON object with a "command" string' };
  }
  const { command, arguments: args } = value as Record<string, unknown>;
  if (typeof command !== 'string' || command.length === 0) {
    return { result: Result.ERROR, text: 'missing "command" (a string)' };
  }
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    return { result: Result.ERROR, text: '"arguments" must be a JSON object' };
  }
  return { command, arguments: (args as Record<string, unknown> | undefined) ?? {} };
}

export function isResponse(x: ControlRequest | ControlResponse): x is ControlResponse {
  return (x as ControlResponse).result !== undefined;
}
