// Node-only part of src/report (file writing, PNG rasterisation): re-exported by src/node/index.ts.
export {
  writeReport,
  svgToPng,
  type SvgToPngOptions,
  type WriteReportOptions,
  type WrittenReport,
} from './write-report.js';
