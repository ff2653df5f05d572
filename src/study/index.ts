// Public API of src/study (Node only: reads data and models from disk, writes the report); re-exported by src/node/index.ts.
export { runStudy } from './run-study.js';
export type { StudyRunOptions, StudyResult } from './run-study.js';
export { resolveStudyConfig, STUDY_ATTACKS } from './config.js';
export type { StudyConfig, ResolvedStudyConfig, StudyAttack } from './config.js';
export type { LayerAnalysis, AttackLayerMetrics, LayerSnnl, LayerUmap, PairStats } from './analyse-layer.js';
export type { AttackSummary } from './build-report.js';
