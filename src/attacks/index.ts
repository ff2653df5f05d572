// Public API of src/attacks (browser-safe; re-exported from 'ae-manifold').
export { carliniWagnerL2, CW_L2_DEFAULTS } from './cw-l2.js';
export type { CwL2Options, CwL2ResolvedOptions } from './cw-l2.js';
export { carliniWagnerL0, CW_L0_DEFAULTS } from './cw-l0.js';
export type { CwL0Options, CwL0ResolvedOptions } from './cw-l0.js';
export { carliniWagnerLinf, CW_LINF_DEFAULTS } from './cw-linf.js';
export type { CwLinfOptions, CwLinfResolvedOptions } from './cw-linf.js';
export { generateRubbish, confidenceMargin } from './rubbish.js';
export type { RubbishOptions, RubbishResolvedOptions, RubbishResult } from './rubbish.js';
export type { AttackResult, AttackNorm } from './result.js';
export type { AttackModel, LogitsFunction, LayersModelLike } from './logits-model.js';
export type { ClassIndices, CwCommonOptions } from './prepare.js';
export type { Bounds } from './tanh-box.js';
