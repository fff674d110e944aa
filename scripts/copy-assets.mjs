// Copies the non-TypeScript files that ship beside the code (router-side .sh scripts, the
// lab's .mjs programs) from src/ to dist/, keeping their paths, so that
// `new URL('./x.sh', import.meta.url)` finds them both under vitest (src) and when built (dist).
// An argument names another build folder of src (the benchmarks': bench/.build/src).
import { cpSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = process.argv[2] ? join(root, process.argv[2]) : join(root, 'dist');
const ASSET = /\.(sh|mjs|awk)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (ASSET.test(name)) cpSync(path, join(dist, relative(src, path)));
  }
}
walk(src);
