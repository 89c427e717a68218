/**
 * Multi-key string commands over several shards are atomic: no client ever observes half of an
 * MSET, and racing MSETNX calls over overlapping keys never leave a half-applied state.
 */
import { describe, it, expect } from 'vitest';
import type { Redis } from 'ioredis';
import { serverForSuite } from './helpers/suite.js';
import { keyShard } from '../src/server/slot.js';

const SHARDS = 4;

/** `n` key names per shard, so every shard takes part in each multi-key call. */
function keysOnEveryShard(prefix: string, perShard = 1): string[] {
  const byShard: string[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0; byShard.some((l) => l.length < perShard); i++) {
    const k = `${prefix}:${i}`;
    const list = byShard[keyShard(Buffer.from(k), SHARDS)]!;
    if (list.length < perShard) list.push(k);
  }
  return byShard.flat();
}

describe(`cross-shard atomicity (${SHARDS} shards)`, () => {
  const suite = serverForSuite({ shards: SHARDS });
  const connect = (): Redis => suite.connect();

  it('MGET never sees half of an MSET', async () => {
    const keys = keysOnEveryShard('atom', 2);
    const writer = connect();
    const reader = connect();
    const deadline = Date.now() + 2000;
    let written = 0;
    let done = false;
    const mixed: (string | null)[][] = [];
    const seen = new Set<string | null>();

    const write = async (): Promise<void> => {
      // Pipelined batches keep many MSETs in flight while the reader runs.
      while (written < 2000 && Date.now() < deadline) {
        const p = writer.pipeline();
        for (let j = 0; j < 20; j++) {
          written++;
          p.mset(...keys.flatMap((k) => [k, String(written)]));
        }
        for (const [e] of (await p.exec())!) expect(e).toBeNull();
      }
      done = true;
    };
    const read = async (): Promise<void> => {
      while (!done) {
        const p = reader.pipeline();
        for (let j = 0; j < 20; j++) p.mget(...keys);
        for (const [e, v] of (await p.exec())!) {
          expect(e).toBeNull();
          const values = v as (string | null)[];
          if (new Set(values).size !== 1) mixed.push(values);
          seen.add(values[0]!);
        }
      }
    };
    await Promise.all([write(), read()]);

    expect(mixed).toEqual([]);
    // The reader really raced the writer: it saw several different states.
    expect(seen.size).toBeGreaterThan(2);
    expect(await reader.mget(...keys)).toEqual(keys.map(() => String(written)));
  });

  it('racing MSETNX over overlapping keys is all or nothing', async () => {
    const contenders = [connect(), connect(), connect()];
    const observer = connect();
    const rounds = 150;
    const halfSeen: string[] = [];
    let stop = false;

    // Three key sets that overlap pairwise (A∩B, B∩C, C∩A), each spread over the shards.
    const setsOf = (r: number): string[][] => {
      const k = keysOnEveryShard(`nx${r}`, 2);
      return [[k[0]!, k[1]!, k[2]!, k[3]!], [k[3]!, k[4]!, k[5]!, k[6]!], [k[6]!, k[7]!, k[0]!, k[2]!]];
    };
    const tagOf = (r: number, i: number): string => `r${r}c${i}`;

    // Watches every round's keys while they are written: a tag present on some but not all
    // keys of its set would be a half-applied MSETNX.
    let current = 0;
    const observe = async (): Promise<void> => {
      while (!stop) {
        const r = current;
        const sets = setsOf(r);
        const all = [...new Set(sets.flat())];
        const values = await observer.mget(...all);
        const byKey = new Map(all.map((k, i) => [k, values[i]]));
        sets.forEach((set, i) => {
          const n = set.filter((k) => byKey.get(k) === tagOf(r, i)).length;
          if (n !== 0 && n !== set.length) halfSeen.push(`round ${r} set ${i}: ${n}/${set.length}`);
        });
      }
    };
    const observing = observe();

    let winners = 0;
    try {
      for (let r = 0; r < rounds; r++) {
        current = r;
        const sets = setsOf(r);
        const replies = await Promise.all(
          sets.map((set, i) => contenders[i]!.msetnx(...set.flatMap((k) => [k, tagOf(r, i)]))),
        );
        const all = [...new Set(sets.flat())];
        const values = await observer.mget(...all);
        const byKey = new Map(all.map((k, i) => [k, values[i]]));
        // Every pair of sets overlaps, so exactly one MSETNX can win ...
        expect(replies.filter((x) => x === 1)).toHaveLength(1);
        const w = replies.indexOf(1);
        winners++;
        // ... it wrote all its keys, and the others wrote none.
        for (const k of sets[w]!) expect(byKey.get(k)).toBe(tagOf(r, w));
        for (const k of all) if (!sets[w]!.includes(k)) expect(byKey.get(k)).toBeNull();
      }
    } finally {
      stop = true;
      await observing;
    }
    expect(winners).toBe(rounds);
    expect(halfSeen).toEqual([]);
  });

  it('MSETNX against concurrent MSET of the same keys never mixes values', async () => {
    const keys = keysOnEveryShard('mix', 1);
    const a = connect();
    const b = connect();
    const reader = connect();
    const mixed: (string | null)[][] = [];
    for (let r = 0; r < 100; r++) {
      const ks = keys.map((k) => `${k}:${r}`);
      // MSETNX either writes all its keys before the MSET (which then overwrites them all) or
      // finds them already set: both leave one writer's value everywhere.
      const [, , values] = await Promise.all([
        a.msetnx(...ks.flatMap((k) => [k, 'nx'])),
        b.mset(...ks.flatMap((k) => [k, 'mset'])),
        reader.mget(...ks),
      ]);
      if (new Set(values).size !== 1) mixed.push(values);
      const after = await reader.mget(...ks);
      expect(after).toEqual(ks.map(() => 'mset'));
    }
    expect(mixed).toEqual([]);
  });
});
