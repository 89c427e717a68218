/**
 * Runs before each test file (vitest setupFiles). Its afterAll is registered first, so with
 * vitest's stacked hooks it runs last: after the file's own hooks have stopped their servers, the
 * file's temp directories go.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/server.js';

afterAll(() => removeTempDirs());
