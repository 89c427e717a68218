// Builds the optional native addon (native/sync_write.cc) during `npm install`.
// Cairn works without it (asynchronous LevelDB writes), so a failed build only warns.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const r = spawnSync('node-gyp', ['rebuild', '--directory', __dirname], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn('cairn: the native sync-write addon did not build; LevelDB batches will be written asynchronously.');
}
