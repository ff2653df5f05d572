/**
 * Internal: small SVG building blocks (escaping, number formatting, ticks, axes, legends) and the
 * report's colour scales.
 * @module
 */

/** Paul Tol's colour-blind-safe "muted" scheme, with a dark grey in place of the pale grey: 10 classes that stay apart in greyscale print too. */
export const CLASS_COLOURS = [
  '#332288',
  '#88CCEE',
  '#44AA99',
  '#117733',
  '#999933',
  '#DDCC77',
  '#CC6677',
  '#882255',
  '#AA4499',
  '#555555',
] as const;

/** Colours of the two compared curves: original class (blue) and predicted class (vermillion), Okabe–Ito. */
export const ORIGINAL_COLOUR = '#0072B2';
export const PREDICTED_COLOUR = '#D55E00';

export const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

export function classColour(label: number): string {
  return CLASS_COLOURS[((label % CLASS_COLOURS.length) + CLASS_COLOURS.length) % CLASS_COLOURS.length]!;
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A coordinate with at most 2 decimals. */
export function c(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** A number for a label: 3 significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (ax >= 1e5 || ax < 1e-3) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Opening tag of a standalone SVG document with white background and the report font. */
export function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img">` +
    `<title>${esc(title)}</title><rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

/** Plot frame: a linear y axis with ticks and grid lines, a title and an axis label. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  yMin: number;
  yMax: number;
  y(v: number): number;
}

export function makeFrame(left: number, top: number, width: number, height: number, yMin: number, yMax: number): Frame {
  return {
    left,
    top,
    width,
    height,
    yMin,
    yMax,
    y: (v: number) => top + height - ((v - yMin) / (yMax - yMin)) * height,
  };
}

/** Y grid, ticks and label, and the frame outline. */
export function yAxis(f: Frame, ticks: number[], label: string): string {
  let s = '';
  for (const t of ticks) {
    const y = c(f.y(t));
    s += `<line x1="${c(f.left)}" x2="${c(f.left + f.width)}" y1="${y}" y2="${y}" stroke="#e3e3e3" stroke-width="1"/>`;
    s += `<text x="${c(f.left - 7)}" y="${y}" font-size="12" text-anchor="end" dominant-baseline="middle" fill="#222">${esc(fmt(t))}</text>`;
  }
  s += `<rect x="${c(f.left)}" y="${c(f.top)}" width="${c(f.width)}" height="${c(f.height)}" fill="none" stroke="#444" stroke-width="1"/>`;
  const cy = f.top + f.height / 2;
  s += `<text transform="translate(${c(f.left - 52)},${c(cy)}) rotate(-90)" font-size="13" text-anchor="middle" fill="#222">${esc(label)}</text>`;
  return s;
}

/** Whether layer names are drawn rotated (long names or many layers). */
export function rotatesLabels(names: string[]): boolean {
  return names.some((n) => n.length > 7) || names.length > 9;
}

/** Height below the plot frame needed for the x axis labels and the axis title. */
export function xAxisSpace(names: string[]): number {
  if (!rotatesLabels(names)) return 58;
  const longest = Math.max(...names.map((n) => n.length));
  return Math.min(150, Math.round(longest * 6.2 * 0.6)) + 40;
}

/** Categorical x axis (layer names, rotated when long). Returns the markup. */
export function xCategories(f: Frame, names: string[], xOf: (i: number) => number, label: string): string {
  let s = '';
  const rotate = rotatesLabels(names);
  names.forEach((n, i) => {
    const x = c(xOf(i));
    const y = f.top + f.height;
    s += `<line x1="${x}" x2="${x}" y1="${c(y)}" y2="${c(y + 5)}" stroke="#444"/>`;
    s += rotate
      ? `<text transform="translate(${x},${c(y + 10)}) rotate(-35)" font-size="12" text-anchor="end" dominant-baseline="hanging" fill="#222">${esc(n)}</text>`
      : `<text x="${x}" y="${c(y + 18)}" font-size="12" text-anchor="middle" fill="#222">${esc(n)}</text>`;
  });
  if (label) s += `<text x="${c(f.left + f.width / 2)}" y="${c(f.top + f.height + xAxisSpace(names) - 10)}" font-size="13" text-anchor="middle" fill="#222">${esc(label)}</text>`;
  return s;
}

export function titleText(x: number, y: number, text: string, size = 15): string {
  return `<text x="${c(x)}" y="${c(y)}" font-size="${size}" font-weight="bold" text-anchor="middle" fill="#111">${esc(text)}</text>`;
}

/** Bytes to base64 without Node's Buffer (browser-safe). */
export function base64(bytes: Uint8Array): string {
  let bin = '';
  const CH = 0x8000;
  for (let i = 0; i < bytes.length; i += CH) bin += String.fromCharCode(...bytes.subarray(i, i + CH));
  return btoa(bin);
}
