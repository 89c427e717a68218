// Builds Cairn's native parts during `npm install`; Cairn works without either, so a failed build
// only warns:
// - the cairn_native addon (native/*.cc: synchronous LevelDB writes and scans on the shard's own
//   thread, memory and thread controls); without it LevelDB batches are written asynchronously;
// - classic-level rebuilt from its own sources with LevelDB patches (native/leveldb-build.cjs);
//   without it classic-level's prebuild is used unchanged.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { buildPatchedClassicLevel } = require('./leveldb-build.cjs');

const r = spawnSync('node-gyp', ['rebuild', '--directory', __dirname], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn('cairn: the native sync-write addon did not build; LevelDB batches will be written asynchronously.');
}

const classicDir = path.dirname(require.resolve('classic-level/package.json', { paths: [path.join(__dirname, '..')] }));
buildPatchedClassicLevel(classicDir, path.join(__dirname, 'classic-level-build'));
