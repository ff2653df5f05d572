/**
 * `ae-manifold study` and `ae-manifold demo`: the whole study from the command line, with a
 * progress bar and time estimate; Ctrl-C stops cleanly and a rerun continues from the cache.
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { useWasmBackend } from '../backend/index.js';
import { InvalidArgumentError } from '../errors.js';
import { resolveStudyConfig } from '../study/config.js';
import type { StudyAttack, StudyConfig } from '../study/config.js';
import { runStudy } from '../study/run-study.js';
import type { CliCommand } from './commands.js';
import { formatDuration, ProgressBar } from './progress-bar.js';

const FN = 'ae-manifold study';

const HELP = `Usage: ae-manifold study [flags]

Runs the study of Pócoš, Bečková & Farkaš (ICANN 2022) end to end: selects correctly classified
test inputs, crafts C&W L0/L2/L∞ adversarial examples and a rubbish class, probes every analysis
point, computes Methods A and B, k-NN percentile rank, normalised centroid distance, SNNL and UMAP
maps, and writes an HTML report (index.html), SVG figures, report.json and results.json to --out.
Finished stages are cached in <out>/.cache: Ctrl-C stops cleanly and a rerun continues; a changed
flag recomputes only what it touches.

Flags (a JSON config file given with --config can replace them; flags override it):
  --dataset <name>        mnist | fashion-mnist | cifar10 (default mnist)
  --model <name|folder>   mnist-cnn | mnist-mlp | cifar10-cnn, or a tfjs model folder (default: the data set's CNN)
  --attacks <list>        comma-separated subset of l0,l2,linf,rubbish (default all)
  --n <count>             correctly classified test inputs per attack (default 100)
  --rubbish-per-class <n> rubbish inputs per class (default 10)
  --preset <name>         original | fast attack iterations (default fast)
  --max-iterations <n>    Adam steps per solve of every attack, overriding the preset
  --rubbish-max-iterations <n>  Adam steps per solve of the rubbish recipe only
  --rubbish-search-steps <n>    binary-search steps of the rubbish recipe only (preset: 9)
  --layers <list>         comma-separated layer names (default: the analysis points)
  --reference <n|all>     training rows of the reference manifolds (default all)
  --test-size <n|all>     test rows for calibration, UMAP and SNNL (default 2000)
  --k <n>                 neighbours of Methods A/B and KPR (default 300)
  --pairs <n>             class pairs reported per attack (default 3)
  --no-method-b           skip Method B (convex-hull proximity)
  --umap-test-size <n>    test points per UMAP map (default 2000)
  --snnl-size <n>         points per SNNL group (default 500)
  --snnl-repeats <n>      SNNL repetitions (default 5)
  --seed <n>              seed of everything random (default: drawn, reported)
  --out <folder>          output folder (default ae-manifold-study)
  --config <file.json>    a StudyConfig as JSON
  --threads <n|auto>      wasm threads (default auto)
  --attack-workers <n|auto>
                          worker threads crafting the C&W examples, one-thread wasm
                          each; same results (default auto: one per core)
  --png                   also write PNG figures
  -h, --help              this text
`;

/** The demo's settings: MNIST, shipped CNN, small but every stage. */
export const DEMO_CONFIG: StudyConfig = {
  dataset: 'mnist',
  model: 'mnist-cnn',
  attacks: ['l0', 'l2', 'linf', 'rubbish'],
  n: 16,
  rubbishPerClass: 2,
  preset: 'fast',
  referenceSize: 5000,
  testSize: 600,
  umapTestSize: 600,
  k: 100,
  snnlSize: 200,
  snnlRepeats: 3,
  seed: 2022,
  out: 'out/demo',
};

function sizeFlag(flag: string, v: string | undefined): number | 'all' | undefined {
  if (v === undefined) return undefined;
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(FN, `--${flag}`, "a positive integer or 'all'", v);
  return n;
}

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(FN, `--${flag}`, 'a non-negative integer', v);
  return n;
}

/** Parses the flags of `study` into a config (file first, flags on top). */
export function studyConfigFromArgs(argv: string[]): { config: StudyConfig; threads: number | 'auto'; png: boolean; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      dataset: { type: 'string' },
      model: { type: 'string' },
      attacks: { type: 'string' },
      n: { type: 'string' },
      'rubbish-per-class': { type: 'string' },
      preset: { type: 'string' },
      'max-iterations': { type: 'string' },
      'rubbish-max-iterations': { type: 'string' },
      'rubbish-search-steps': { type: 'string' },
      layers: { type: 'string' },
      reference: { type: 'string' },
      'test-size': { type: 'string' },
      k: { type: 'string' },
      pairs: { type: 'string' },
      'no-method-b': { type: 'boolean', default: false },
      'umap-test-size': { type: 'string' },
      'snnl-size': { type: 'string' },
      'snnl-repeats': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string' },
      threads: { type: 'string' },
      'attack-workers': { type: 'string' },
      png: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  let config: StudyConfig = {};
  if (values.config) {
    try {
      config = JSON.parse(readFileSync(values.config, 'utf8')) as StudyConfig;
    } catch (e) {
      throw new InvalidArgumentError(FN, '--config', `a readable JSON file (${(e as Error).message})`, values.config);
    }
  }
  const set = <K extends keyof StudyConfig>(key: K, v: StudyConfig[K] | undefined) => {
    if (v !== undefined) config[key] = v;
  };
  set('dataset', values.dataset as StudyConfig['dataset']);
  set('model', values.model);
  set('attacks', values.attacks?.split(',').map((s) => s.trim()) as StudyAttack[] | undefined);
  set('n', intFlag('n', values.n));
  set('rubbishPerClass', intFlag('rubbish-per-class', values['rubbish-per-class']));
  set('preset', values.preset as StudyConfig['preset']);
  set('maxIterations', intFlag('max-iterations', values['max-iterations']));
  set('rubbishMaxIterations', intFlag('rubbish-max-iterations', values['rubbish-max-iterations']));
  set('rubbishBinarySearchSteps', intFlag('rubbish-search-steps', values['rubbish-search-steps']));
  set('layers', values.layers?.split(',').map((s) => s.trim()));
  set('referenceSize', sizeFlag('reference', values.reference));
  set('testSize', sizeFlag('test-size', values['test-size']));
  set('k', intFlag('k', values.k));
  set('pairs', intFlag('pairs', values.pairs));
  if (values['no-method-b']) config.methodB = false;
  set('umapTestSize', intFlag('umap-test-size', values['umap-test-size']));
  set('snnlSize', intFlag('snnl-size', values['snnl-size']));
  set('snnlRepeats', intFlag('snnl-repeats', values['snnl-repeats']));
  set('seed', intFlag('seed', values.seed));
  set('out', values.out);
  const workersFlag = values['attack-workers'];
  if (workersFlag !== undefined) config.attackWorkers = workersFlag === 'auto' ? 'auto' : intFlag('attack-workers', workersFlag)!;
  else config.attackWorkers ??= 'auto';
  const threadsFlag = values.threads ?? 'auto';
  const threads = threadsFlag === 'auto' ? 'auto' : (intFlag('threads', threadsFlag) ?? 'auto');
  return { config, threads, png: values.png ?? false, help: values.help ?? false };
}

/** Runs a study with a progress bar; returns the exit code. */
export async function runStudyFromCli(config: StudyConfig, threads: number | 'auto', png: boolean): Promise<number> {
  const resolved = resolveStudyConfig(config);
  const bar = new ProgressBar();
  const backend = await useWasmBackend({ threads });
  bar.log(
    `ae-manifold study: ${resolved.dataset}, model ${resolved.model}, attacks ${resolved.attacks.join(',')}, n ${resolved.n}, ` +
      `reference ${resolved.referenceSize}, seed ${resolved.seed}; backend wasm (${backend.threads} thread${backend.threads === 1 ? '' : 's'}, simd ${backend.simd})`,
  );
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted (SIGINT/SIGTERM)'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let lastStage = '';
  const t0 = Date.now();
  try {
    const result = await runStudy({ ...config, seed: resolved.seed }, {
      signal: controller.signal,
      png,
      onProgress: (p) => {
        const d = p.detail ?? {};
        if (p.stage !== lastStage) {
          if (lastStage) bar.log(`  ${lastStage} done (${formatDuration((Date.now() - t0) / 1000)} elapsed)`);
          lastStage = p.stage;
        }
        bar.update(p.step / p.total, `${p.stage} ${((d.stageFraction ?? 0) * 100).toFixed(0)}%  elapsed ${formatDuration(d.elapsedSec ?? NaN)}  eta ${formatDuration(d.etaSec ?? NaN)}`);
      },
    });
    bar.done();
    for (const a of result.attacks) {
      bar.log(`  ${a.attack}: ${a.succeeded}/${a.attempted} succeeded, mean distance ${a.distance.mean.toPrecision(3)}, ${a.seconds.toFixed(1)} s`);
    }
    if (result.cached.length) bar.log(`  reused from cache: ${result.cached.join(', ')}`);
    const folder = resolve(result.written?.folder ?? resolved.out);
    bar.log(`report: ${resolve(folder, 'index.html')} (${formatDuration((Date.now() - t0) / 1000)})`);
    return 0;
  } catch (e) {
    bar.done();
    if ((e as { code?: string }).code === 'ABORTED') {
      process.stderr.write(`stopped; finished stages are kept in ${resolve(resolved.out, '.cache')}: rerun the same command to continue\n`);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `ae-manifold study`. */
export const studyCommand: CliCommand = {
  summary: 'run the whole study (attacks, probes, metrics, UMAP, SNNL) and write the report',
  async run(argv) {
    const { config, threads, png, help } = studyConfigFromArgs(argv);
    if (help) {
      process.stdout.write(HELP);
      return 0;
    }
    return runStudyFromCli(config, threads, png);
  },
};

/** `ae-manifold demo`: the study on MNIST with the shipped CNN at a small size (flags as for study override it). */
export const demoCommand: CliCommand = {
  summary: 'a small MNIST study with the shipped CNN, in a few minutes (npm run demo)',
  async run(argv) {
    const { config, threads, png, help } = studyConfigFromArgs(argv);
    if (help) {
      process.stdout.write(`Usage: ae-manifold demo [study flags]\n\nRuns the study with ${JSON.stringify(DEMO_CONFIG)}; any study flag overrides a setting.\n`);
      return 0;
    }
    return runStudyFromCli({ ...DEMO_CONFIG, ...config }, threads, png);
  },
};
