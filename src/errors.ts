/**
 * Typed errors of ae-manifold. Every message names the function, the argument, what was
 * expected and what was given, so that the fix is visible without a stack trace.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError } from 'ae-manifold';
 * let argument = '';
 * try { await carliniWagnerL2(model, x, labels, { confidence: -1 }); }
 * catch (e) { if (e instanceof InvalidArgumentError) argument = e.argument; } // 'options.confidence'
 * ```
 * @module
 */

/** Machine-readable kind of an {@link AeManifoldError}. */
export type AeManifoldErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'UNSUPPORTED_MODEL'
  | 'PROBABILITY_OUTPUT'
  | 'ABORTED'
  | 'DATA_UNAVAILABLE'
  | 'BACKEND_UNAVAILABLE';

/**
 * Base class of every error the library throws on purpose.
 * @category Errors
 */
export class AeManifoldError extends Error {
  /** Machine-readable kind. */
  readonly code: AeManifoldErrorCode;
  /** The public function that raised it, e.g. `'carliniWagnerL2'`. */
  readonly functionName: string;

  constructor(code: AeManifoldErrorCode, functionName: string, message: string, options?: { cause?: unknown }) {
    super(`${functionName}: ${message}`, options);
    this.name = 'AeManifoldError';
    this.code = code;
    this.functionName = functionName;
  }
}

/** Short, printable description of any value, for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  const shape = (value as { shape?: unknown }).shape;
  if (Array.isArray(shape)) return `a tensor of shape [${shape.join(', ')}]`;
  return `an object (${(value as object).constructor?.name ?? 'Object'})`;
}

/**
 * An argument has the wrong type, range or value.
 * @category Errors
 */
export class InvalidArgumentError extends AeManifoldError {
  /** Name of the offending argument, e.g. `'options.k'`. */
  readonly argument: string;

  /**
   * @param functionName public function that was called
   * @param argument argument name as the caller wrote it (`'options.k'`)
   * @param expected what would have been accepted (`'an integer in [1, 500]'`)
   * @param given the value received, described with {@link describeValue}
   */
  constructor(functionName: string, argument: string, expected: string, given: unknown) {
    super('INVALID_ARGUMENT', functionName, `${argument} must be ${expected}, got ${describeValue(given)}`);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/**
 * Shapes of arguments disagree with each other or with the model.
 * @category Errors
 */
export class ShapeMismatchError extends AeManifoldError {
  readonly argument: string;
  readonly expectedShape: ReadonlyArray<number | null>;
  readonly actualShape: readonly number[];

  constructor(
    functionName: string,
    argument: string,
    expectedShape: ReadonlyArray<number | null>,
    actualShape: readonly number[],
    detail?: string,
  ) {
    const fmt = (s: ReadonlyArray<number | null>) => `[${s.map((d) => (d === null ? 'any' : String(d))).join(', ')}]`;
    super(
      'SHAPE_MISMATCH',
      functionName,
      `${argument} must have shape ${fmt(expectedShape)}, got ${fmt(actualShape)}${detail ? ` (${detail})` : ''}`,
    );
    this.name = 'ShapeMismatchError';
    this.argument = argument;
    this.expectedShape = expectedShape;
    this.actualShape = actualShape;
  }
}

/**
 * The model is of a kind the function cannot use (or lacks a gradient it needs).
 * @category Errors
 */
export class UnsupportedModelError extends AeManifoldError {
  constructor(functionName: string, message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_MODEL', functionName, message, options);
    this.name = 'UnsupportedModelError';
  }
}

/**
 * The model returns probabilities (a softmax) where logits are required.
 * @category Errors
 */
export class ProbabilityOutputError extends AeManifoldError {
  constructor(functionName: string) {
    super(
      'PROBABILITY_OUTPUT',
      functionName,
      'the model outputs probabilities (every row is in [0, 1] and sums to 1), but the attack needs logits. ' +
        'Remove the final softmax (or end the model in a separate Softmax/Activation layer, which is skipped ' +
        'automatically), pass a function that returns logits, or set options.allowProbabilities = true.',
    );
    this.name = 'ProbabilityOutputError';
  }
}

/**
 * Work was stopped through an `AbortSignal`.
 * @category Errors
 */
export class AbortedError extends AeManifoldError {
  constructor(functionName: string, reason?: unknown) {
    super('ABORTED', functionName, `aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`, {
      cause: reason,
    });
    this.name = 'AbortedError';
  }
}

/**
 * A data set or model file is missing or corrupt; the message says how to obtain it.
 * @category Errors
 */
export class DataUnavailableError extends AeManifoldError {
  constructor(functionName: string, message: string, options?: { cause?: unknown }) {
    super('DATA_UNAVAILABLE', functionName, message, options);
    this.name = 'DataUnavailableError';
  }
}

/**
 * A requested tfjs backend could not be initialised.
 * @category Errors
 */
export class BackendUnavailableError extends AeManifoldError {
  constructor(functionName: string, message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', functionName, message, options);
    this.name = 'BackendUnavailableError';
  }
}
