/**
 * pino's call shape (message only), so the daemon's pino logger or a test's recorder can be passed in.
 * `isLevelEnabled` lets the service leave out ISC's per-packet lines when nobody reads them.
 */
export interface DhcpLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
  isLevelEnabled?(level: string): boolean;
}
