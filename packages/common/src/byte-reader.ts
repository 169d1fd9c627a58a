/**
 * A bounds-checked cursor over bytes that remembers its first error instead of throwing (the insomniacslk/dhcp
 * pattern from STYLE.md): decode reads a run of fields, then checks `error` once. After an error every read
 * returns 0 or an empty view, so a decoder can never index past the buffer.
 */
export class ByteReader {
  private pos: number;
  private readonly end: number;
  private firstError: string | undefined;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = Math.min(end, buf.length);
  }

  /** The first out-of-bounds read, described, or undefined when every read so far fitted. */
  get error(): string | undefined {
    return this.firstError;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.firstError === undefined ? this.end - this.pos : 0;
  }

  private take(n: number, what: string): number | undefined {
    if (this.firstError !== undefined) return undefined;
    if (n < 0 || this.pos + n > this.end) {
      this.firstError = `${what}: need ${n} byte(s) at offset ${this.pos}, ${this.end - this.pos} left`;
      return undefined;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    const at = this.take(1, what);
    return at === undefined ? 0 : this.buf[at]!;
  }

  u16(what = 'u16'): number {
    const at = this.take(2, what);
    return at === undefined ? 0 : (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  u32(what = 'u32'): number {
    const at = this.take(4, what);
    if (at === undefined) return 0;
    return (
      ((this.buf[at]! << 24) | (this.buf[at + 1]! << 16) | (this.buf[at + 2]! << 8) | this.buf[at + 3]!) >>> 0
    );
  }

  /** A view (not a copy) of the next n bytes; empty after an error. */
  bytes(n: number, what = 'bytes'): Uint8Array {
    const at = this.take(n, what);
    return at === undefined ? new Uint8Array(0) : this.buf.subarray(at, at + n);
  }

  skip(n: number, what = 'skip'): void {
    this.take(n, what);
  }

  /** Reads the next byte without consuming it; undefined at the end or after an error. */
  peek(): number | undefined {
    return this.firstError === undefined && this.pos < this.end ? this.buf[this.pos] : undefined;
  }
}
