/**
 * Backups (BGSAVE / SAVE): the pool task that copies every shard's LevelDB at one snapshot moment
 * into a new Cairn data directory, and the shard command the front thread uses as a barrier.
 *
 *  - Shard side (`__backup sync`): answers once every write sent to the shard before it is in
 *    LevelDB (the pending group commit included). The front thread reserves all shards, sends this
 *    to each and, once all have answered, nothing is pending anywhere: LevelDB holds exactly the
 *    state at that point of the global command order.
 *
 *  - Pool side (copyShards, run by workers/background.ts): opens every shard's location (sharing
 *    the shards' handles, as the sweep does), says so on its MessagePort, waits for 'snap', takes
 *    one LevelDB snapshot per shard synchronously and answers 'snapped'; the front thread releases
 *    the shards then. The task then iterates each snapshot and writes a fresh LevelDB at
 *    <target>/shard-<i> in bounded batches, writes <target>/CAIRN last, and renames the directory
 *    to its final name: a directory under backups/ without the temp prefix is always complete.
 *
 * What is not copied: 'G' records and the 'S'/'Z' records of versions that are not the live
 * version of their key in the snapshot (dead versions waiting for the sweep, or a staged copy):
 * the backup holds no garbage. Everything else (meta, live sub-keys, expiry index, key counts,
 * the shard's format record) is copied byte for byte, so the backup opens as a normal data dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { ClassicLevel } from 'classic-level';
import type { AbstractSnapshot } from 'abstract-level';
import { command, type CommandSpec, type ShardCall } from '../commands/types.js';
import type { Db } from '../storage/store.js';
import {
  Prefix, Type, FORMAT_VERSION, META_HEADER, DB_IDS_KEY, EXPIRY_DB_OFFSET, metaKey, readU64, encodeDbIds, decodeDbIds,
} from '../storage/encoding.js';
import { openShared } from './sweep.js';
import { dirBytes, fsyncPath } from '../util/files.js';

/** Records per write batch of the copy (and between two progress reports and abort checks). */
const COPY_BATCH = 1000;
/** Bytes per write batch of the copy, whichever limit comes first. */
const COPY_BATCH_BYTES = 4 << 20;

/** Name prefix of a backup being built (never looks complete; removed before the next backup). */
export const TEMP_PREFIX = '.tmp-';

export interface BackupTask {
  /** Each shard's LevelDB location, by shard index. */
  paths: string[];
  /** Where the backup is built (a new directory), and its final name (renamed when complete). */
  temp: string;
  final: string;
  /** The front's end of the conversation: 'snap' (take the snapshots now) or 'abort'. */
  port: MessagePort;
  /** Int32Array over a SharedArrayBuffer: set to 1 to abort the copy (shutdown). */
  abort: Int32Array;
}

export interface BackupResult {
  aborted: boolean;
  /** Records and keys written, bytes on disk of the finished backup. */
  records: number;
  keys: number;
  bytes: number;
}

/** Messages the task posts on its port. */
export type BackupProgress =
  | { type: 'opened' }
  | { type: 'snapped' }
  /** Keys copied so far, of `total` (the snapshot's key counts; sent once known). */
  | { type: 'progress'; keys: number; total?: number };

class Aborted extends Error {}

function checkAbort(flag: Int32Array): void {
  if (Atomics.load(flag, 0) !== 0) throw new Aborted('backup aborted');
}

/** Waits for the front's next word on the port ('snap' or 'abort'); a closed port aborts. */
function nextWord(port: MessagePort): Promise<string> {
  return new Promise((resolve) => {
    const done = (w: string): void => {
      port.off('message', onMessage);
      port.off('close', onClose);
      resolve(w);
    };
    const onMessage = (m: string): void => done(m);
    const onClose = (): void => done('abort');
    port.on('message', onMessage);
    port.on('close', onClose);
  });
}

/** Keys in a snapshot: the sum of its per-database count records. */
async function countKeys(db: Db, snapshot: AbstractSnapshot): Promise<number> {
  let n = 0;
  const it = db.iterator({ gte: Buffer.from([Prefix.COUNT]), lt: Buffer.from([Prefix.COUNT + 1]), snapshot });
  try {
    for (const [, v] of await it.all()) n += readU64(v as Buffer, 0);
  } finally {
    await it.close();
  }
  return n;
}

/**
 * Decides whether an 'S'/'Z' record belongs to the live version of its key in the snapshot.
 * Records of one version are adjacent in key order, so the meta record is read once per version.
 */
class LiveVersions {
  /** db | key-len | key | version of the last version looked up (bytes 1.. of its records' keys). */
  private last: Buffer | null = null;
  private lastLive = false;

  constructor(private readonly db: Db, private readonly snapshot: AbstractSnapshot) {}

  isLive(k: Buffer): boolean {
    const len = k.readUInt32BE(2);
    const end = 6 + len + 8;
    if (this.last !== null && this.last.length === end - 1 && this.last.equals(k.subarray(1, end))) return this.lastLive;
    this.last = Buffer.from(k.subarray(1, end));
    const raw = this.db.getSync(metaKey(k[1]!, k.subarray(6, 6 + len)), { snapshot: this.snapshot, fillCache: false });
    this.lastLive = raw !== undefined && raw[0] !== Type.STRING && raw.readBigUInt64BE(META_HEADER) === k.readBigUInt64BE(6 + len);
    return this.lastLive;
  }
}

interface CopyCounts {
  records: number;
  keys: number;
}

/** Copies one shard's snapshot into a new LevelDB at `target`. */
async function copyShard(db: Db, snapshot: AbstractSnapshot, target: string, t: BackupTask, counts: CopyCounts): Promise<void> {
  const out: Db = new ClassicLevel<Buffer, Buffer>(target, {
    keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true, errorIfExists: true,
  });
  await out.open();
  const live = new LiveVersions(db, snapshot);
  // Flushed databases' ids: their records are dead (the sweep deletes them), the copy leaves them.
  const dbIds = db.getSync(DB_IDS_KEY, { snapshot });
  const retired = new Set(dbIds === undefined ? [] : decodeDbIds(dbIds).retired);
  const it = db.iterator({ snapshot, highWaterMarkBytes: 1 << 20, fillCache: false });
  try {
    let ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    let bytes = 0;
    for (let entries = await it.nextv(COPY_BATCH); entries.length > 0; entries = await it.nextv(COPY_BATCH)) {
      checkAbort(t.abort);
      for (const [key, rawValue] of entries) {
        let value = rawValue;
        const kind = key[0];
        if (kind === Prefix.GARBAGE) continue;
        if (retired.size > 0) {
          if (retired.has(kind === Prefix.EXPIRY ? key[EXPIRY_DB_OFFSET]! : key[1]!) && kind !== Prefix.INFO) continue;
          if (key.equals(DB_IDS_KEY)) value = encodeDbIds({ ...decodeDbIds(value), retired: [], expiring: [] });
        }
        if ((kind === Prefix.SUB || kind === Prefix.SCORE) && !live.isLive(key)) continue;
        if (kind === Prefix.META) counts.keys++;
        ops.push({ type: 'put', key, value });
        bytes += key.length + value.length;
      }
      if (ops.length >= COPY_BATCH || bytes >= COPY_BATCH_BYTES) {
        await out.batch(ops);
        counts.records += ops.length;
        ops = [];
        bytes = 0;
        t.port.postMessage({ type: 'progress', keys: counts.keys } satisfies BackupProgress);
      }
    }
    // The last batch is written with sync: it fsyncs LevelDB's log and everything before it.
    await out.batch(ops, { sync: true });
    counts.records += ops.length;
  } finally {
    await it.close();
    await out.close();
  }
}

/**
 * The pool task: one snapshot moment across every shard (on the front's 'snap'), then the copy.
 * Always removes the temp directory unless it became the finished backup.
 */
export async function copyShards(t: BackupTask): Promise<BackupResult> {
  const counts: CopyCounts = { records: 0, keys: 0 };
  const dbs: Db[] = [];
  const snapshots: AbstractSnapshot[] = [];
  let finished = false;
  try {
    for (const p of t.paths) dbs.push(await openShared(p));
    t.port.postMessage({ type: 'opened' } satisfies BackupProgress);
    if ((await nextWord(t.port)) !== 'snap') throw new Aborted('backup aborted');
    // The front has reserved every shard and each has written all it was sent: this is the moment.
    for (const db of dbs) snapshots.push(db.snapshot());
    t.port.postMessage({ type: 'snapped' } satisfies BackupProgress);
    let total = 0;
    for (let i = 0; i < dbs.length; i++) total += await countKeys(dbs[i]!, snapshots[i]!);
    t.port.postMessage({ type: 'progress', keys: 0, total } satisfies BackupProgress);

    fs.mkdirSync(t.temp, { recursive: true });
    for (let i = 0; i < dbs.length; i++) {
      await copyShard(dbs[i]!, snapshots[i]!, path.join(t.temp, `shard-${i}`), t, counts);
      await snapshots[i]!.close();
    }
    checkAbort(t.abort);
    // CAIRN last: what makes the directory a data directory (same record as prepareDataDir writes).
    const cairn = path.join(t.temp, 'CAIRN');
    fs.writeFileSync(cairn, JSON.stringify({ format: FORMAT_VERSION, shards: dbs.length, created: new Date().toISOString() }) + '\n');
    fsyncPath(cairn);
    fsyncPath(t.temp);
    fs.renameSync(t.temp, t.final);
    fsyncPath(path.dirname(t.final));
    finished = true;
    return { aborted: false, records: counts.records, keys: counts.keys, bytes: dirBytes(t.final) };
  } catch (e) {
    if (e instanceof Aborted) return { aborted: true, records: counts.records, keys: counts.keys, bytes: 0 };
    throw e;
  } finally {
    for (const s of snapshots) await s.close();
    for (const db of dbs) await db.close();
    t.port.close();
    if (!finished) fs.rmSync(t.temp, { recursive: true, force: true });
  }
}

// ================================================================ shard side

/** __backup SYNC: +OK once every write this shard was sent before it is in LevelDB. */
async function backupShard(c: ShardCall): Promise<void> {
  await c.sync();
  c.w.ok();
}

export const backupCommands: readonly CommandSpec[] = [
  command({
    // Backup barrier: answers when this shard's earlier writes are in LevelDB.
    name: '__backup', arity: 2, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: backupShard,
  }),
];
