/**
 * A one-line progress bar on stderr for the CLI (plain lines when stderr is not a terminal).
 * @module
 */

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * A progress bar that redraws one stderr line in a terminal; when stderr is not a terminal (a log
 * file, CI) it prints a plain progress line at most every `plainIntervalMs` instead.
 */
export class ProgressBar {
  private readonly tty: boolean;
  private readonly width: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    width = 30,
    private readonly plainIntervalMs = 60_000,
  ) {
    this.tty = Boolean(stream.isTTY);
    this.width = width;
    this.lastDraw = this.tty ? 0 : Date.now();
  }

  /** Redraws the bar at `fraction` in [0, 1] with a text after it (throttled to 10 per second). */
  update(fraction: number, text: string): void {
    const now = Date.now();
    const f = Math.max(0, Math.min(1, fraction));
    if (!this.tty) {
      if (now - this.lastDraw < this.plainIntervalMs) return;
      this.lastDraw = now;
      this.stream.write(`${(f * 100).toFixed(1).padStart(5)}% ${text}\n`);
      return;
    }
    if (now - this.lastDraw < 100 && fraction < 1) return;
    this.lastDraw = now;
    const full = Math.round(f * this.width);
    const line = `[${'#'.repeat(full)}${'.'.repeat(this.width - full)}] ${(f * 100).toFixed(1).padStart(5)}% ${text}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    this.drawn = true;
  }

  /** Prints a full line (clearing the bar first; the bar comes back on the next update). */
  log(message: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.stream.write(message + '\n');
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
