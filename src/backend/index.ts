// Public API of src/backend (Node only): re-exported by src/node/index.ts.
export { useWasmBackend, wasmBackendReport } from './use-wasm-backend.js';
export { useCpuBackend } from './use-cpu-backend.js';
export type { UseWasmBackendOptions, WasmBackendReport } from './use-wasm-backend.js';
export { PINNED_WASM_BACKEND_VERSION, installedWasmBackendVersion } from './wasm-package.js';
