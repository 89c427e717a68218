/**
 * The shard's half of cross-shard writes that a crash cannot leave half done (the front's half,
 * and why it is enough, is in src/server/cross-write.ts).
 *
 *   __xfirst <txid> <parts> <command...>  runs the command; unless it answered an error, the
 *                                         intent record (txid -> parts) joins its writes' batch
 *   __xpart <txid> <command...>           runs the command; unless it answered an error, the
 *                                         marker record of txid joins its writes' batch
 *   __xlist                               [[txid, parts, ...], [marked txid, ...], watermark]
 *   __xforget <watermark> <txid>...       deletes these txids' intents and markers (whichever
 *                                         exist) and records the watermark, in one batch
 *   __xclear                              deletes every intent, marker and the watermark
 *
 * A command's writes and the record go to LevelDB in one batch, so on this shard the record
 * exists if and only if the part was written.
 */
import { command, type CommandSpec, type ShardCall } from '../commands/types.js';
import { CommandError, unknownCommand } from '../commands/errors.js';
import { lower } from '../commands/args.js';
import { lookupCommand } from '../commands/table.js';
import { CROSS_INTENT, CROSS_MARK, CROSS_WATERMARK, prefixEnd } from '../storage/encoding.js';
import { scan } from '../storage/scan.js';

const TXID_BYTES = 8;
const EMPTY = Buffer.alloc(0);

function recordKey(prefix: Buffer, txid: Buffer): Buffer {
  if (txid.length !== TXID_BYTES) throw new CommandError('ERR invalid cross-shard transaction id');
  return Buffer.concat([prefix, txid]);
}

/**
 * Runs the command at args[from..] as if it had been sent alone, then `record()` in the same
 * batch unless the command's reply is an error (a thrown one skips it too).
 */
function runThenRecord(c: ShardCall, from: number, record: () => void): void | Promise<void> {
  const name = lower(c.args[from]!);
  const spec = lookupCommand(name);
  if (!spec?.shard || (spec.internal && name.startsWith('__x'))) throw new CommandError(unknownCommand(c.args.slice(from)));
  const errors = c.w.errors;
  const done = (): void => {
    if (c.w.errors === errors) record();
  };
  const r = spec.shard({ args: c.args.slice(from), db: c.db, w: c.w, store: c.store, sync: c.sync });
  return r ? r.then(done) : done();
}

/** Every record under `prefix`, in txid order: [txid, value] pairs. Writes pending are written first. */
async function records(c: ShardCall, prefix: Buffer): Promise<[Buffer, Buffer][]> {
  await c.sync();
  const out: [Buffer, Buffer][] = [];
  await scan(c.store, { gte: prefix, lt: prefixEnd(prefix)! }, (k, v) => {
    out.push([k.subarray(prefix.length), v]);
  });
  return out;
}

/** Where the wrapped command starts in __xfirst's and __xpart's args. */
const FIRST_COMMAND = 3;
const PART_COMMAND = 2;

const INTERNAL = { acl: [], keys: null, internal: true } as const;

export const intentCommands: CommandSpec[] = [
  command({
    name: '__xfirst', arity: -4, flags: ['write'], ...INTERNAL, wraps: FIRST_COMMAND,
    // A cross-shard write's first part: runs the command and records the intent (the other parts) with it.
    shard: (c) => {
      const key = recordKey(CROSS_INTENT, c.args[1]!);
      return runThenRecord(c, FIRST_COMMAND, () => c.store.put(key, c.args[2]!));
    },
  }),
  command({
    name: '__xpart', arity: -3, flags: ['write'], ...INTERNAL, wraps: PART_COMMAND,
    // Another part of a cross-shard write: runs the command and records the txid's marker with it.
    shard: (c) => {
      const key = recordKey(CROSS_MARK, c.args[1]!);
      return runThenRecord(c, PART_COMMAND, () => c.store.put(key, EMPTY));
    },
  }),
  command({
    name: '__xlist', arity: 1, flags: ['readonly'], ...INTERNAL,
    // The intents (txid, parts) and markers (txid) of cross-shard writes on this shard.
    shard: async (c) => {
      const intents = await records(c, CROSS_INTENT);
      const marks = await records(c, CROSS_MARK);
      const watermark = c.store.get(CROSS_WATERMARK);
      c.w.array(3);
      c.w.array(intents.length * 2);
      for (const [txid, parts] of intents) {
        c.w.bulk(txid);
        c.w.bulk(parts);
      }
      c.w.array(marks.length);
      for (const [txid] of marks) c.w.bulk(txid);
      if (watermark === undefined) c.w.nil();
      else c.w.bulk(watermark);
    },
  }),
  command({
    name: '__xforget', arity: -3, flags: ['write'], ...INTERNAL,
    // Deletes written cross-shard writes' intents and markers on this shard, and records the watermark below which every one is written.
    shard: (c) => {
      const watermark = c.args[1]!;
      if (watermark.length !== TXID_BYTES) throw new CommandError('ERR invalid cross-shard watermark');
      for (let i = 2; i < c.args.length; i++) {
        c.store.del(recordKey(CROSS_INTENT, c.args[i]!));
        c.store.del(recordKey(CROSS_MARK, c.args[i]!));
      }
      const before = c.store.get(CROSS_WATERMARK);
      if (before === undefined || Buffer.compare(watermark, before) > 0) c.store.put(CROSS_WATERMARK, watermark);
      c.w.ok();
    },
  }),
  command({
    name: '__xclear', arity: 1, flags: ['write'], ...INTERNAL,
    // Deletes every cross-shard intent and marker on this shard; the number deleted.
    shard: async (c) => {
      const all = [...(await records(c, CROSS_INTENT)).map(([t]) => recordKey(CROSS_INTENT, t)), ...(await records(c, CROSS_MARK)).map(([t]) => recordKey(CROSS_MARK, t))];
      for (const k of all) c.store.del(k);
      c.store.del(CROSS_WATERMARK);
      c.w.int(all.length);
    },
  }),
];
