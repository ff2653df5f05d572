import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ae-cli-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help lists the commands; unknown commands and flags are rejected', () => {
  const help = cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: ae-manifold <command>/);
  assert.match(help.stdout, /^\s+train\s+/m);
  const trainHelp = cli('train', '--help');
  assert.equal(trainHelp.code, 0);
  for (const flag of ['--dataset', '--model', '--epochs', '--batch-size', '--seed', '--out', '--augment', '--threads']) {
    assert.ok(trainHelp.stdout.includes(flag), `train --help mentions ${flag}`);
  }
  const unknown = cli('fly');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'fly'/);
  const badFlag = cli('train', '--datset', 'mnist');
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--datset/);
  const missing = cli('train', '--model', 'mlp');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--dataset must be mnist, fashion-mnist or cifar10/);
});

test('train: a short real run saves a model with metadata, and rerunning continues from the checkpoint', () => {
  const out = join(root, 'mlp');
  const args = ['train', '--dataset', 'mnist', '--model', 'mlp', '--train-count', '300', '--test-count', '100', '--threads', '1', '--seed', '3', '--out', out];
  const first = cli(...args, '--epochs', '1');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /epoch 1\/1: loss [\d.]+, test accuracy [\d.]+ %/);
  const summary = JSON.parse(first.stdout.trim().split('\n').pop()!) as { testAccuracy: number; seed: number };
  assert.equal(summary.seed, 3);
  const meta = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { userDefinedMetadata: Record<string, unknown> }).userDefinedMetadata;
  assert.equal(meta.dataset, 'mnist');
  assert.equal(meta.testAccuracy, summary.testAccuracy);
  assert.deepEqual(meta.layers, ['input', 'standardize', 'flatten', 'dense1', 'relu1', 'dense2', 'relu2', 'logits']);
  assert.match(String(meta.command), /^ae-manifold train --dataset mnist --model mlp/);

  const second = cli(...args, '--epochs', '2');
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resumed from epoch 1/);
  assert.doesNotMatch(second.stderr, /epoch 1\/2/);
  assert.match(second.stderr, /epoch 2\/2/);
  const history = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { userDefinedMetadata: { history: unknown[] } }).userDefinedMetadata.history;
  assert.equal(history.length, 2);
});

test('the progress bar prints throttled plain lines when stderr is not a terminal, and redraws in one', async () => {
  const { ProgressBar } = await import('../src/cli/progress-bar.js');
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns: 80, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
  };
  const plain = sink(false);
  const everyTime = new ProgressBar(plain.stream, 10, 0);
  everyTime.update(0.25, 'epoch 1/2');
  everyTime.update(0.5, 'epoch 1/2');
  assert.deepEqual(plain.chunks, [' 25.0% epoch 1/2\n', ' 50.0% epoch 1/2\n']);
  const quiet = sink(false);
  const throttled = new ProgressBar(quiet.stream, 10, 3_600_000);
  throttled.update(0.5, 'x');
  throttled.log('epoch 1 done');
  assert.deepEqual(quiet.chunks, ['epoch 1 done\n'], 'no bar line within the interval, and no terminal escapes');
  const tty = sink(true);
  const bar = new ProgressBar(tty.stream, 10);
  bar.update(0.5, 'half');
  assert.match(tty.chunks[0]!, /^\r\[#####\.\.\.\.\.\]  50\.0% half/);
});

test('study flags: --attack-workers defaults to auto on the CLI, takes a count or auto, and rejects anything else', async () => {
  const { studyConfigFromArgs } = await import('../src/cli/study-command.js');
  const { InvalidArgumentError } = await import('../src/errors.js');
  assert.equal(studyConfigFromArgs([]).config.attackWorkers, 'auto');
  assert.equal(studyConfigFromArgs(['--attack-workers', '3']).config.attackWorkers, 3);
  assert.equal(studyConfigFromArgs(['--attack-workers', 'auto']).config.attackWorkers, 'auto');
  assert.throws(() => studyConfigFromArgs(['--attack-workers', 'two']), (e: unknown) => e instanceof InvalidArgumentError && /--attack-workers/.test(e.message));
  const help = cli('study', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--attack-workers <n\|auto>/);
});
