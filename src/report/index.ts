// Public API of src/report (browser-safe): re-exported by src/index.ts.
export { renderReport, type RenderedReport, type ReportFigure } from './render-report.js';
export { reportToJson, reportFromJson, REPORT_JSON_FORMAT } from './report-json.js';
export {
  UMAP_POINT_KINDS,
  type ImageGrid,
  type LayerStat,
  type MetricCurve,
  type ReportData,
  type SnnlSeries,
  type UmapPanel,
} from './types.js';
