/**
 * Test set-up: the cpu backend (the reference backend of the tests) and a tensor-leak check.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';

tf.env().set('IS_TEST', true);

/** Makes cpu the active backend and fails loudly if tfjs picked another. */
export async function useCpu(): Promise<typeof tf> {
  const ok = await tf.setBackend('cpu');
  assert.equal(ok, true, 'tf.setBackend("cpu") returned false');
  await tf.ready();
  assert.equal(tf.getBackend(), 'cpu');
  return tf;
}

/**
 * Runs `fn` and asserts that `tf.memory().numTensors` is the same afterwards. `fn` must dispose
 * whatever it is handed back by the code under test.
 */
export async function expectNoLeaks<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `tensor leak: ${after - before} tensor(s) more after the call`);
  return out;
}

/** Asserts that `fn` rejects (or throws) an error of class `cls` whose message names `argument`. */
export async function expectTypedError(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  argument: string | RegExp,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  const msg = (caught as Error).message;
  if (typeof argument === 'string') assert.ok(msg.includes(argument), `message "${msg}" does not name "${argument}"`);
  else assert.match(msg, argument);
  return caught as Error;
}

export { tf };
