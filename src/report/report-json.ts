/**
 * The report's JSON form: every value of a {@link ReportData}, typed arrays written as plain number
 * arrays, and read back into the same typed arrays.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { ImageGrid, ReportData, UmapPanel } from './types.js';
import { validateReportData } from './validate-report.js';

/**
 * Identifies the report JSON format (`format` field); bumped when the layout changes.
 * @category Report
 */
export const REPORT_JSON_FORMAT = 'ae-manifold-report@1';

function plainPanel(p: UmapPanel): Record<string, unknown> {
  return { ...p, x: Array.from(p.x), y: Array.from(p.y), kind: Array.from(p.kind), label: Array.from(p.label) };
}

function plainGrid(g: ImageGrid): Record<string, unknown> {
  return { ...g, images: Array.from(g.images) };
}

/**
 * Serialises report data to JSON (typed arrays as number arrays). {@link reportFromJson} reads it
 * back exactly: float32 values survive the round trip bit for bit.
 *
 * @example
 * ```ts
 * import { reportToJson, reportFromJson } from 'ae-manifold';
 * const json = reportToJson({ title: 't', seed: 1, config: {}, classNames: [], curves: [], umap: [], grids: [], snnl: [] });
 * reportFromJson(json).title; // 't'
 * ```
 * @param indent spaces of indentation; default none (compact)
 * @category Report
 */
export function reportToJson(data: ReportData, indent?: number): string {
  validateReportData('reportToJson', data);
  const out = {
    format: REPORT_JSON_FORMAT,
    ...data,
    umap: data.umap.map(plainPanel),
    grids: data.grids.map(plainGrid),
  };
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

function num(v: unknown): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number;
}

function reviveNumbers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reviveNumbers);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = reviveNumbers(x);
    return o;
  }
  return typeof v === 'string' && (v === 'NaN' || v === 'Infinity' || v === '-Infinity') ? num(v) : v;
}

/**
 * Reads a report JSON written by {@link reportToJson} back into {@link ReportData}.
 *
 * @example
 * ```ts
 * import { reportFromJson, reportToJson } from 'ae-manifold';
 * const x = new Float32Array([0.5, 1.5]);
 * const json = reportToJson({ title: 't', seed: 1, config: {}, classNames: ['a'], curves: [], grids: [], snnl: [],
 *   umap: [{ attack: 'cw-l2', layer: 'relu1', mode: 'union', seed: 1, nEpochs: 200, x, y: x, kind: new Uint8Array(2), label: new Int32Array(2) }] });
 * reportFromJson(json).umap[0].x; // Float32Array [0.5, 1.5] again
 * ```
 * @category Report
 */
export function reportFromJson(json: string): ReportData {
  const FN = 'reportFromJson';
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(FN, 'json', 'valid JSON', (e as Error).message);
  }
  if (!raw || raw.format !== REPORT_JSON_FORMAT) {
    throw new InvalidArgumentError(FN, 'json', `a report with format "${REPORT_JSON_FORMAT}"`, raw?.format);
  }
  const { format: _format, ...rest } = raw;
  void _format;
  const config = rest.config;
  const data = reviveNumbers({ ...rest, config: undefined }) as Record<string, unknown>;
  data.config = config;
  const umap = (data.umap as Record<string, unknown>[]).map((p) => ({
    ...p,
    x: Float32Array.from(p.x as number[]),
    y: Float32Array.from(p.y as number[]),
    kind: Uint8Array.from(p.kind as number[]),
    label: Int32Array.from(p.label as number[]),
  }));
  const grids = (data.grids as Record<string, unknown>[]).map((g) => ({ ...g, images: Float32Array.from(g.images as number[]) }));
  const out = { ...data, umap, grids } as unknown as ReportData;
  validateReportData(FN, out);
  return out;
}
