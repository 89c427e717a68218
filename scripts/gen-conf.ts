/**
 * Writes config/cairn.conf from the config table: `npx tsc -p . && node dist/scripts/gen-conf.js`.
 * test/config.test.ts fails when the committed file differs from what this would write.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigFile } from '../src/config-file.js';

/** The repository root, from dist/scripts/ (compiled) or scripts/ (run from source). */
function root(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}

const file = path.join(root(), 'config', 'cairn.conf');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, renderConfigFile());
process.stdout.write(`wrote ${file}\n`);
