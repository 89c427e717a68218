/**
 * Running a family's command script against Cairn (and a reference redis-server) through ioredis.
 */
import type { Redis } from 'ioredis';

export type Reply = null | number | string | Buffer | { error: string } | Reply[];

/**
 * Sends a command and returns its reply or its error. The name goes upper case: ioredis reshapes
 * the replies of some lower-case names (HGETALL into an object, ...), never of upper-case ones.
 */
export async function run(client: Redis, args: (string | Buffer)[]): Promise<Reply> {
  try {
    return (await client.call((args[0] as string).toUpperCase(), ...args.slice(1))) as Reply;
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** One script step: the command, its expected reply (undefined: compare with redis-server only), and a normaliser. */
export type ScriptStep = [args: (string | Buffer)[], expected?: Reply, normalize?: (r: Reply) => Reply];

/** Runs the script on `client`, checking each reply against its expectation and against `ref`; returns the mismatches. */
export async function scriptMismatches(client: Redis, ref: Redis | null, script: readonly ScriptStep[],
  check: (got: Reply, want: Reply) => void): Promise<string[]> {
  const mismatches: string[] = [];
  for (const [args, expected, normalize = (r: Reply) => r] of script) {
    const got = normalize(await run(client, args));
    if (expected !== undefined) {
      try {
        check(got, normalize(expected));
      } catch {
        mismatches.push(`${args.join(' ').slice(0, 80)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
      }
    }
    if (ref) {
      const want = normalize(await run(ref, args));
      try {
        check(got, want);
      } catch {
        mismatches.push(`${args.join(' ').slice(0, 80)}: redis-server ${JSON.stringify(want)?.slice(0, 200)}, got ${JSON.stringify(got)?.slice(0, 200)}`);
      }
    }
  }
  return mismatches;
}
