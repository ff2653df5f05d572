// Marks dist/cjs as CommonJS and swaps in the CommonJS form of the module-location helper,
// whose ESM source uses import.meta (not valid syntax in a CommonJS file).
import { writeFileSync, existsSync } from 'node:fs';
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
const here = 'dist/cjs/node/module-location.js';
if (existsSync(here)) {
  writeFileSync(
    here,
    `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n` +
      `exports.thisModuleFile = thisModuleFile;\n` +
      `/** CommonJS form, written by scripts/mark-cjs.mjs. */\nfunction thisModuleFile() { return __filename; }\n`,
  );
}
