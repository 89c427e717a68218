/**
 * Rewrites README.md's command support table from the command table:
 * `npx tsc -p . && node dist/scripts/gen-readme.js`. test/readme.test.ts checks it is current.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withCommandTable } from '../src/docs/command-table.js';

let dir = path.dirname(fileURLToPath(import.meta.url));
while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
const file = path.join(dir, 'README.md');
fs.writeFileSync(file, withCommandTable(fs.readFileSync(file, 'utf8')));
process.stdout.write(`wrote ${file}\n`);
