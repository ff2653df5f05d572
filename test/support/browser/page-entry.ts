/**
 * Entry of the browser bundle of test/browser.test.ts (bundled by esbuild, never run by Node):
 * the library's browser entry (through the scenario), tfjs-core, tfjs-layers and the cpu and
 * WebGL backends. Exposes `window.aeScenario(backend)` and `window.aeFloat16Scenario()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { runScenarioChecked } from './scenario.js';
import type { ScenarioResult } from './scenario.js';
import { VERSION } from '../../../src/index.js';
import { runFloat16Scenario } from './float16-scenario.js';

export interface BackendRun {
  requested: string;
  /** False when tf.setBackend returned false or threw (e.g. no WebGL in this browser). */
  available: boolean;
  error: string | null;
  result: ScenarioResult | null;
}

async function aeScenario(backend: string): Promise<BackendRun> {
  let ok = false;
  let error: string | null = null;
  try {
    ok = await tf.setBackend(backend);
    await tf.ready();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  if (!ok || tf.getBackend() !== backend) {
    return { requested: backend, available: false, error: error ?? `tf.setBackend('${backend}') returned false`, result: null };
  }
  const result = await runScenarioChecked();
  return { requested: backend, available: true, error: null, result };
}

(globalThis as unknown as Record<string, unknown>)['aeScenario'] = aeScenario;
// Must be the first backend use of its page (it forces WebGL onto half-float textures).
(globalThis as unknown as Record<string, unknown>)['aeFloat16Scenario'] = runFloat16Scenario;
(globalThis as unknown as Record<string, unknown>)['aeVersion'] = VERSION;
