import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { withCommandTable } from '../src/docs/command-table.js';
import { publicCommands } from '../src/commands/table.js';
import { ROOT } from './helpers/server.js';

describe('README.md', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('lists exactly the commands of the command table (run scripts/gen-readme.ts when it changes)', () => {
    expect(readme).toBe(withCommandTable(readme));
  });

  it('names every public command', () => {
    for (const c of publicCommands()) expect(readme).toContain(c.name.toUpperCase());
  });
});
