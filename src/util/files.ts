/**
 * Small file-system helpers.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Bytes of the regular files under `dir`, recursively. */
export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

/** Bytes a directory tree takes on disk (allocated blocks, as du counts them). */
export function diskBytes(dir: string, seen = new Set<string>()): number {
  let n = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      if (e.isDirectory()) {
        n += diskBytes(p, seen);
        continue;
      }
      // A file with several names (the file reaper's hard links) counts once, as du counts it.
      const st = fs.statSync(p);
      const id = `${st.dev}:${st.ino}`;
      if (st.nlink > 1) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      n += st.blocks * 512;
    } catch {
      // removed meanwhile (a compaction): not there any more
    }
  }
  return n;
}

/** fsyncs a file or directory (a directory's entries: a rename or new file in it becomes durable). */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
