// Node-only data loaders: re-exported by src/node/index.ts.
export {};
