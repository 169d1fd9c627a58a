/** Plain-text tables for the terminal: columns padded to the widest cell, no colours, no dependencies. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function ago(epochSec: number | undefined, nowSec: number): string {
  if (!epochSec) return '-';
  const d = nowSec - epochSec;
  if (d < 0) return `in ${human(-d)}`;
  return `${human(d)} ago`;
}

export function human(sec: number): string {
  if (sec < 120) return `${Math.round(sec)}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  if (sec < 172800) return `${Math.round(sec / 3600)}h`;
  return `${Math.round(sec / 86400)}d`;
}

/**
 * A time as dhcpd.leases writes it (`starts 4 2026/12/02 11:00:00;`): UTC, the weekday first (0 is Sunday),
 * so ISC users read hadhcp's lease times the way they read their leases file.
 */
export function iscDate(epochSec: number, weekday = true): string {
  const d = new Date(epochSec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${weekday ? `${d.getUTCDay()} ` : ''}${date} ${time}`;
}
