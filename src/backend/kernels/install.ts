/**
 * Registers the wasm kernels of ae-manifold: the missing `Conv2DBackpropFilter` always, and the
 * faster replacements (`Conv2DBackpropInput`, `BatchMatMul`, `MaxPoolGrad`, `Sum`, `Mean`,
 * `Tile`, `SplitV`, `Tanh`, one-channel `Conv2D`/`FusedConv2D`, and copy-free `Identity`/`Cast`) and the fused C&W step kernels
 * (`AeManifoldCwBox`, `AeManifoldCwAdam`) when asked. Idempotent. Some of the
 * replacements use the SIMD kernels module (simd/module.ts) when it is loaded on the backend.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { aliasConfig } from './alias.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { oneChannelConvConfig } from './conv2d-one-channel.js';
import { cwStepConfigs } from './cw-step.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { splitVConfig } from './split-v.js';
import { meanConfig, sumConfig } from './sum.js';
import { tanhConfig } from './tanh.js';
import { tileConfig } from './tile.js';

/** Every kernel ae-manifold may register on wasm. */
export const WASM_KERNEL_NAMES = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad', 'Sum', 'Mean', 'Tile', 'SplitV', 'Tanh', 'Conv2D', 'FusedConv2D', 'Identity', 'Cast', 'AeManifoldCwBox', 'AeManifoldCwAdam'] as const;

const ours = new WeakSet<KernelFunc>();

function register(config: KernelConfig): void {
  ours.add(config.kernelFunc);
  tf.registerKernel(config);
}

function replace(name: string, make: (stock: KernelConfig) => KernelConfig): boolean {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock || ours.has(stock.kernelFunc)) return false;
  const config = make(stock);
  tf.unregisterKernel(name, 'wasm');
  register(config);
  return true;
}

/** Whether the kernel registered for `name` on wasm is one of ours. */
export function isAeManifoldKernel(name: string): boolean {
  const k = tf.getKernel(name, 'wasm');
  return !!k && ours.has(k.kernelFunc);
}

/**
 * Installs the kernels on the (already initialised) wasm backend and returns the names of the
 * kernels of ours that are now registered.
 */
export function installWasmKernels(fast: boolean): string[] {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) register(conv2DBackpropFilterConfig());
  if (fast) {
    replace('Conv2DBackpropInput', conv2DBackpropInputConfig);
    replace('BatchMatMul', batchMatMulConfig);
    replace('MaxPoolGrad', maxPoolGradConfig);
    replace('Sum', sumConfig);
    replace('Mean', meanConfig);
    replace('Tile', tileConfig);
    replace('SplitV', splitVConfig);
    replace('Tanh', tanhConfig);
    replace('Conv2D', oneChannelConvConfig);
    replace('FusedConv2D', oneChannelConvConfig);
    for (const config of cwStepConfigs()) if (!tf.getKernel(config.kernelName, 'wasm')) register(config);
    replace('Identity', aliasConfig);
    replace('Cast', aliasConfig);
  }
  return WASM_KERNEL_NAMES.filter(isAeManifoldKernel);
}
