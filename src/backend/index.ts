// Public API of src/backend (Node only): re-exported by src/node/index.ts.
export {};
