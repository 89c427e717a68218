/**
 * The front thread: listener, command dispatch and routing, client registry, lifecycle.
 */
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { pinoLevel } from '../log.js';
import { Client, type ClientHost } from './client.js';
import { adoptConnection, ownArgs } from './client-socket.js';
import { ShardPool } from './shards.js';
import { Coordinator } from './coordinator.js';
import { limitTableMmaps, setCompactionNice, setThreadBatch } from '../storage/native-memory.js';
import { leveldbPatches } from '../storage/native-addon.js';
import { budgetCaches, type CacheSizes } from './memory-budget.js';
import { keyShard } from './slot.js';
import { ReplyWriter } from './resp/writer.js';
import type { ProtocolError } from './resp/decoder.js';
import type { ServerState, ServerStats, WriteErrors } from './context.js';
import type { CommandSpec } from '../commands/types.js';
import { COMMAND_LIST, lookupCommand, commandId, keyIndexes } from '../commands/table.js';
import { CommandError, E, unknownCommand, errorArg } from '../commands/errors.js';
import { FORMAT_VERSION, READABLE_FORMATS } from '../storage/encoding.js';
import { Sweeper } from '../shard/sweep.js';
import { setMaxStringLength } from '../commands/string-util.js';
import { clientInfoLine } from '../commands/client.js';
import { obufLimits, type ObufLimit, type ObufLimits } from '../output-buffer-limits.js';
import { Backups } from './backup.js';
import { misconfError } from '../shard/write-error.js';
import { recoverCrossWrites } from './cross-write.js';
import { FRONT_READS, frontReadArgs, type FrontRead } from './front-reads.js';

/** Single-key reads the front thread may answer from the row caches (front-reads.ts). */
const FRONT_READ_SPECS = new Map<CommandSpec | undefined, FrontRead>(FRONT_READS.map((op) => [lookupCommand(op), op]));
const MGET_SPEC = lookupCommand('mget');

const WORKER_FILE = new URL(findWorkerFile('shard'), import.meta.url);
const BACKGROUND_FILE = new URL(findWorkerFile('background'), import.meta.url);

/** A compiled worker (shard, background), whether this module runs from dist/ or (under vitest) from src/. */
function findWorkerFile(name: string): string {
  const here = path.dirname(new URL(import.meta.url).pathname);
  const candidates = [path.join(here, `../../workers/${name}.js`), path.join(here, `../../dist/workers/${name}.js`)];
  for (const c of candidates) if (fs.existsSync(c)) return 'file://' + c;
  throw new Error(`cannot find the compiled ${name} worker (run \`npm run build\`)`);
}

export class StartupError extends Error {
  readonly code = 'CAIRN_STARTUP';
}

/** Reads or creates <dir>/CAIRN, which records the format and shard count of a data directory. */
function prepareDataDir(dir: string, requested: number): number {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'CAIRN');
  if (fs.existsSync(file)) {
    const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as { format: number; shards: number };
    if (!READABLE_FORMATS.includes(meta.format)) {
      throw new StartupError(`${dir}: data format ${meta.format} is not supported (this build reads formats ${READABLE_FORMATS.join(', ')})`);
    }
    // An older format is upgraded in place (each shard upgrades its own record as it opens).
    if (meta.format !== FORMAT_VERSION) fs.writeFileSync(file, JSON.stringify({ ...meta, format: FORMAT_VERSION }) + '\n');
    if (requested !== 0 && requested !== meta.shards) {
      throw new StartupError(`${dir} was created with ${meta.shards} shards; it cannot be opened with --shards ${requested} (use --shards ${meta.shards}, or 0 to use the recorded count)`);
    }
    return meta.shards;
  }
  const shards = requested === 0 ? availableParallelism() : requested;
  fs.writeFileSync(file, JSON.stringify({ format: FORMAT_VERSION, shards, created: new Date().toISOString() }) + '\n');
  return shards;
}

export interface StartOptions {
  config: Config;
  log: Logger;
  configFile?: string;
  /** Called when the server has stopped by itself (SHUTDOWN, a fatal error). */
  onStopped?: (code: number) => void;
}

export class CairnServer implements ServerState, ClientHost {
  readonly config: Config;
  readonly log: Logger;
  readonly shards: ShardPool;
  coord!: Coordinator;
  /** The background pool's driver (sweep of dead collection versions, compaction). */
  private sweeper: Sweeper | null = null;
  /** BGSAVE / SAVE (copies through their own background pool). */
  private backups: Backups | null = null;
  readonly clients = new Map<number, Client>();
  readonly stats: ServerStats = {
    startedAt: Date.now(), totalConnections: 0, rejectedConnections: 0, totalCommands: 0,
    netInputBytes: 0, netOutputBytes: 0, commandStats: new Map(), errorReplies: 0, errorCounts: new Map(),
    queryLimitDisconnections: 0, outputLimitDisconnections: 0,
  };
  readonly runId = randomBytes(20).toString('hex');
  caches: CacheSizes = { rowCacheSize: 0, cacheSize: 0, writeBufferSize: 0, maxOpenFiles: 0 };
  readonly executable = process.argv[1] ?? '';
  readonly configFile: string;
  readonly writeErrors = { byShard: new Map<number, string>(), entered: 0, last: '' } satisfies WriteErrors;
  port = 0;
  private nshards = 1;
  private listeners: net.Server[] = [];
  private nextClientId = 1;
  private dirty = new Set<Client>();
  private flushScheduled = false;
  private stopping: Promise<void> | null = null;
  private cronTimer: NodeJS.Timeout | null = null;
  /** client-output-buffer-limit, parsed (kept current by configChanged). */
  private obuf: ObufLimits;
  private readonly onStopped?: (code: number) => void;
  private readonly limits = {
    maxBulkLen: () => this.config['proto-max-bulk-len'] as number,
    maxQueryBuffer: () => this.config['client-query-buffer-limit'] as number,
  };

  private constructor(o: StartOptions) {
    this.config = o.config;
    this.log = o.log;
    this.configFile = o.configFile ?? '';
    this.onStopped = o.onStopped;
    this.obuf = obufLimits(this.config['client-output-buffer-limit'] as string);
    this.shards = new ShardPool({
      log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
      afterReplies: () => this.scheduleFlush(),
      fatal: (msg) => {
        this.log.fatal(msg);
        void this.shutdown('fatal shard error', 1);
      },
      writeState: (shard, error) => this.writeStateChanged(shard, error),
    });
  }

  static async start(o: StartOptions): Promise<CairnServer> {
    const s = new CairnServer(o);
    await s.open();
    return s;
  }

  private async open(): Promise<void> {
    const c = this.config;
    const dir = path.resolve(c.dir as string);
    this.nshards = prepareDataDir(dir, c.shards as number);
    this.frontReadsOn = c['row-cache-front-reads'] as boolean;
    this.coord = new Coordinator(this.nshards);
    setMaxStringLength(c['proto-max-bulk-len'] as number);
    this.log.info({ dir, shards: this.nshards, pid: process.pid, leveldbPatches: leveldbPatches() }, 'Cairn starting');
    // Before any LevelDB opens in this process (the limit is read once, when LevelDB's Env starts).
    const mmapFiles = c['leveldb-mmap-files'] as number;
    if (!limitTableMmaps(mmapFiles)) this.log.warn({ mmapFiles }, 'leveldb-mmap-files not applied (native addon not built); LevelDB maps up to 1000 table files');
    // Read by the patched LevelDB when its first background job is scheduled (setCompactionNice's).
    const bgThreads = c['leveldb-background-threads'] as number;
    process.env.CAIRN_LEVELDB_BG_THREADS = String(bgThreads > 0 ? bgThreads : this.nshards);
    const nice = c['leveldb-compaction-nice'] as number;
    // Also starts those threads, named leveldb-bg (top -H, perf, bench:capacity's CPU by thread).
    if (!setCompactionNice(nice) && nice !== 0) this.log.warn({ nice }, 'leveldb-compaction-nice not applied (native addon not built)');
    if (c['sched-batch'] && !setThreadBatch(true)) this.log.warn('sched-batch not applied (native addon not built, or not Linux)');
    const shardPath = (i: number): string => path.join(dir, `shard-${i}`);
    const budget = budgetCaches(Number(c.maxmemory), this.nshards, {
      rowCacheSize: c['row-cache-size'] as number,
      cacheSize: c['leveldb-cache-size'] as number,
      writeBufferSize: c['leveldb-write-buffer-size'] as number,
      maxOpenFiles: c['leveldb-max-open-files'] as number,
    }, c['leveldb-block-size'] as number);
    const { tooSmall, ...caches } = budget;
    this.caches = caches;
    if (Number(c.maxmemory) > 0) {
      (tooSmall ? this.log.warn : this.log.info).call(this.log, { maxmemory: c.maxmemory, perShard: this.caches },
        tooSmall ? 'maxmemory is smaller than the runtime needs: smallest caches' : 'caches sized to fit maxmemory');
    }
    await this.shards.start(WORKER_FILE, {
      shards: this.nshards,
      databases: c.databases as number,
      hz: c.hz as number,
      activeExpireEffort: c['active-expire-effort'] as number,
      appendfsync: c.appendfsync as 'always' | 'everysec' | 'no',
      protoMaxBulkLen: c['proto-max-bulk-len'] as number,
      deferredDeletes: c['leveldb-deferred-deletes'] as boolean,
      schedBatch: c['sched-batch'] as boolean,
      store: {
        ...this.caches,
        nativeWrites: c['leveldb-native-writes'] as boolean,
        overlappedReads: c['leveldb-overlapped-reads'] as 'auto' | 'always' | 'no',
        blockSize: c['leveldb-block-size'] as number,
        compression: c['leveldb-compression'] as boolean,
      },
    }, shardPath, c['shard-threads'] as boolean);
    await recoverCrossWrites(this, this.nshards);
    const paths = Array.from({ length: this.nshards }, (_, i) => shardPath(i));
    this.sweeper = new Sweeper({
      workerFile: BACKGROUND_FILE,
      paths,
      callShard: (shard, db, args) => this.callShard(shard, db, args),
      log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
    });
    this.sweeper.register(this);
    await this.sweeper.start();
    this.backups = new Backups({
      workerFile: BACKGROUND_FILE, dir, paths,
      coord: this.coord, callShard: (shard, db, args) => this.callShard(shard, db, args),
      stats: this.stats, lookupCommand, log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
    });
    this.backups.register(this);
    await this.listen();
    if (c.pidfile) fs.writeFileSync(c.pidfile as string, String(process.pid) + '\n');
    this.cronTimer = setInterval(() => this.clientsCron(), 1000);
    this.cronTimer.unref();
    this.log.info({ port: this.port }, 'Ready to accept connections');
  }

  private async listen(): Promise<void> {
    const binds = (this.config.bind as string).split(/\s+/).filter(Boolean);
    let port = this.config.port as number;
    for (const b of binds) {
      const optional = b.startsWith('-');
      const host = optional ? b.slice(1) : b;
      // pauseOnConnect: the connection moves to a socket that reads into the shared buffer (client-socket.ts).
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port, backlog: this.config['tcp-backlog'] as number }, () => resolve());
        });
      } catch (e) {
        if (optional) {
          this.log.warn({ host, err: (e as Error).message }, 'could not bind optional address');
          continue;
        }
        throw new StartupError(`could not listen on ${host}:${port}: ${(e as Error).message}`);
      }
      // With port 0, every further address binds the port the first one got.
      port = (server.address() as net.AddressInfo).port;
      this.listeners.push(server);
    }
    if (this.listeners.length === 0) throw new StartupError('could not listen on any address');
    this.port = port;
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.stats.totalConnections++;
    if (this.clients.size >= (this.config.maxclients as number)) {
      this.stats.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const ka = this.config['tcp-keepalive'] as number;
    if (ka > 0) socket.setKeepAlive(true, ka * 1000);
    let client: Client | undefined;
    const adopted = adoptConnection(socket, (bytes) => client!.onData(bytes));
    client = new Client(this.nextClientId++, adopted, this.limits, this);
    this.clients.set(client.id, client);
  }

  /** Once a second: closes idle clients (timeout) and clients over their output buffer soft limit. */
  private clientsCron(): void {
    const timeout = this.config.timeout as number;
    const idleBefore = timeout > 0 ? Date.now() - timeout * 1000 : -Infinity;
    for (const c of [...this.clients.values()]) {
      if (c.lastInteraction < idleBefore && !c.busy) c.kill();
      else c.checkOutputLimit();
    }
  }

  // ---------------------------------------------------------------- ClientHost

  onClose(client: Client): void {
    this.clients.delete(client.id);
    this.dirty.delete(client);
  }

  onProtocolError(client: Client, err: ProtocolError): void {
    this.log.debug({ client: client.addr, err: err.message }, 'protocol error');
    if (err.message.startsWith('ERR ')) {
      const w = new ReplyWriter(128);
      w.error(err.message);
      client.failAndClose(w.take());
    } else {
      // Query buffer limit: Redis closes without a reply.
      this.stats.queryLimitDisconnections++;
      this.log.warn({ client: client.addr }, 'closing client that reached max query buffer length');
      client.kill();
    }
  }

  outputLimit(_client: Client): ObufLimit {
    // Every client is a normal client for now. When pub/sub lands, a client in subscribed mode
    // takes this.obuf.pubsub here (and replicas this.obuf.replica when replication does).
    return this.obuf.normal;
  }

  onOutputLimit(client: Client): void {
    this.stats.outputLimitDisconnections++;
    this.log.warn(`Client ${clientInfoLine(client)} scheduled to be closed ASAP for overcoming of output buffer limits.`);
    client.kill();
  }

  countInput(n: number): void {
    this.stats.netInputBytes += n;
  }

  countOutput(n: number): void {
    this.stats.netOutputBytes += n;
  }

  markDirty(client: Client): void {
    this.dirty.add(client);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushClients);
  }

  private readonly flushClients = (): void => {
    this.flushScheduled = false;
    const d = this.dirty;
    this.dirty = new Set();
    for (const c of d) c.flush();
  };

  // ---------------------------------------------------------------- dispatch

  /** row-cache-front-reads: single-key reads of cached records answered on this thread. */
  private frontReadsOn = true;

  /** Runs one parsed command for a client: checks it, routes it to a shard or runs it here. */
  execute(client: Client, args: Buffer[]): void {
    const name = args[0]!.toString('latin1').toLowerCase();
    let spec = lookupCommand(name);
    if (spec === undefined || spec.internal) return this.reject(client, unknownCommand(args));
    if (spec.subcommands && (args.length >= 2 || !spec.front)) {
      if (args.length < 2) return this.reject(client, E.WRONG_ARGS(spec.name), spec);
      const sub = spec.subcommands.find((s) => s.name === name + '|' + args[1]!.toString('latin1').toLowerCase());
      if (!sub) return this.reject(client, E.UNKNOWN_SUBCOMMAND(errorArg(args[1]!, 128), args[0]!.toString('latin1')));
      spec = sub;
    }
    if ((spec.arity > 0 && args.length !== spec.arity) || args.length < -spec.arity) {
      return this.reject(client, E.WRONG_ARGS(spec.name), spec);
    }
    // As Redis' processCommand under MISCONF: writes (and PING) are refused while a shard cannot write.
    if (this.writeErrors.byShard.size > 0 && (spec.flags.includes('write') || spec.name === 'ping')) {
      return this.reject(client, misconfError(this.writeErrors.byShard.values().next().value!), spec);
    }
    const keys = keyIndexes(spec, args);
    if (keys.length > 0 && spec.shard) {
      const shard = this.shardOf(args[keys[0]!]!);
      let single = true;
      for (let i = 1; i < keys.length; i++) if (this.shardOf(args[keys[i]!]!) !== shard) { single = false; break; }
      if (single) {
        if (!this.coord.canSendOne(shard)) return this.waitFor(client, [shard], ownArgs(args));
        if (spec === MGET_SPEC && this.frontMget(client, spec, args, [shard], keys.map(() => shard))) return;
        // GET (and the other single-key reads of front-reads.ts) of a cached record: answered
        // here when nothing sent to the shard is still unanswered (every command dispatched
        // before this one has run and is written: a cross-shard MSET seen in part on another
        // shard must be seen whole here) and no earlier command of this client is either.
        const op = FRONT_READ_SPECS.get(spec);
        if (op !== undefined && frontReadArgs(op, args.length) && client.awaiting === 0 && this.frontReadsOn && this.shards.inFlight(shard) === 0) {
          const started = performance.now();
          const reply = this.shards.frontReads.read(op, shard, client.db, args, client.resp);
          if (reply !== null) {
            this.count(spec, client);
            this.statsOf(spec).usec += (performance.now() - started) * 1000;
            client.deliver(client.slot(), reply);
            return;
          }
        }
        this.count(spec, client);
        this.shards.send(shard, client.resp, client.db, commandId(spec), args, client, client.slot());
        return;
      }
    }
    const keyShards = keys.map((k) => this.shardOf(args[k]!));
    const involved = keys.length > 0 ? [...new Set(keyShards)] : spec.allShards ? this.allShards() : [];
    // Arguments are views of the read buffer (client-socket.ts); a front handler may keep them.
    if (involved.length > 0 && !this.coord.canSend(involved)) return this.waitFor(client, involved, ownArgs(args));
    if (spec === MGET_SPEC && this.frontMget(client, spec, args, involved, keyShards)) return;
    const owned = ownArgs(args);
    this.count(spec, client);
    this.runFront(client, spec, owned);
  }

  /**
   * MGET of cached records answered here, from every involved shard's row cache, under the rule of
   * the single-key reads for each of them: nothing sent to any of them is unanswered (so no part of
   * a cross-shard MSET is half run: MGET stays atomic), and no earlier command of this client is.
   * keyShards[i]: the shard of the (i + 1)th argument. True when answered.
   */
  private frontMget(client: Client, spec: CommandSpec, args: Buffer[], involved: readonly number[], keyShards: readonly number[]): boolean {
    if (!this.frontReadsOn || client.awaiting !== 0) return false;
    for (const s of involved) if (this.shards.inFlight(s) !== 0) return false;
    const started = performance.now();
    const reply = this.shards.frontReads.mget(client.db, args, keyShards, client.resp);
    if (reply === null) return false;
    this.count(spec, client);
    this.statsOf(spec).usec += (performance.now() - started) * 1000;
    client.deliver(client.slot(), reply);
    return true;
  }

  private writeStateChanged(shard: number, error: string | null): void {
    const we = this.writeErrors;
    if (error !== null) {
      we.byShard.set(shard, error);
      we.entered++;
      we.last = error;
      this.log.warn({ shard, err: error }, 'LevelDB write failed: write commands are refused (MISCONF) until writes work again');
    } else if (we.byShard.delete(shard)) {
      this.log.info({ shard }, 'LevelDB writes work again: write commands are accepted');
    }
  }

  private count(spec: CommandSpec, client: Client): void {
    this.stats.totalCommands++;
    client.lastCommand = spec.name;
    this.statsOf(spec).calls++;
  }

  private statsOf(spec: CommandSpec): { calls: number; usec: number; rejected: number; failed: number } {
    let s = this.stats.commandStats.get(spec.name);
    if (!s) this.stats.commandStats.set(spec.name, (s = { calls: 0, usec: 0, rejected: 0, failed: 0 }));
    return s;
  }

  /** Counts an error reply by its code (INFO errorstats). */
  private countError(msg: string): void {
    this.stats.errorReplies++;
    const space = msg.indexOf(' ');
    const code = space < 0 ? msg : msg.slice(0, space);
    this.stats.errorCounts.set(code, (this.stats.errorCounts.get(code) ?? 0) + 1);
  }

  private allShards(): number[] {
    return Array.from({ length: this.nshards }, (_, i) => i);
  }

  /** The command needs reserved shards: the client waits (and queues what follows) until they are free. */
  private waitFor(client: Client, shards: number[], args: Buffer[]): void {
    client.busy = true;
    this.coord.waitFor(shards, () => {
      client.busy = false;
      this.execute(client, args);
      client.resume();
    });
  }

  /** An error before the command runs; `spec` (when known) counts it as a rejected call. */
  private reject(client: Client, msg: string, spec?: CommandSpec): void {
    this.countError(msg);
    if (spec) this.statsOf(spec).rejected++;
    const w = new ReplyWriter(128);
    w.error(msg);
    client.deliver(client.slot(), w.take());
  }

  private runFront(client: Client, spec: CommandSpec, args: Buffer[]): void {
    const seq = client.slot();
    const w = new ReplyWriter(256);
    w.resp = client.resp;
    const stats = this.statsOf(spec);
    const started = performance.now();
    const fail = (e: unknown): void => {
      w.len = 0;
      stats.failed++;
      if (e instanceof CommandError) {
        w.error(e.reply);
        this.countError(e.reply);
      } else {
        this.log.error({ err: e, command: spec.name }, 'command failed');
        w.error('ERR internal error: ' + (e instanceof Error ? e.message : String(e)));
        this.countError('ERR');
      }
    };
    let r: void | Promise<void> = undefined;
    try {
      r = spec.front!({ args, ctx: { client, server: this }, w });
    } catch (e) {
      fail(e);
    }
    if (!(r instanceof Promise)) {
      stats.usec += (performance.now() - started) * 1000;
      client.deliver(seq, w.take());
      return;
    }
    if (spec.coordinated) client.busy = true;
    r.catch(fail).finally(() => {
      stats.usec += (performance.now() - started) * 1000;
      client.deliver(seq, w.take());
      if (spec.coordinated) {
        client.busy = false;
        client.resume();
      }
    });
  }

  // ---------------------------------------------------------------- ServerState

  get commands(): readonly CommandSpec[] {
    return COMMAND_LIST;
  }

  shardOf(key: Buffer): number {
    return keyShard(key, this.nshards);
  }

  lookupCommand(name: string): CommandSpec | undefined {
    return lookupCommand(name);
  }

  callShard(shard: number, db: number, args: readonly (Buffer | string)[], resp: 2 | 3 = 2): Promise<Buffer> {
    const name = (typeof args[0] === 'string' ? args[0] : args[0]!.toString('latin1')).toLowerCase();
    const spec = lookupCommand(name);
    if (!spec?.shard) throw new Error(`callShard: '${name}' does not run on a shard`);
    return this.shards.call(shard, db, commandId(spec), args, resp);
  }

  configChanged(name: string): void {
    const v = this.config[name];
    if (name === 'loglevel') this.log.level = pinoLevel(v as string);
    else if (name === 'hz' || name === 'active-expire-effort') this.shards.broadcast({ type: 'config', name, value: v as number });
    else if (name === 'appendfsync') this.shards.broadcast({ type: 'config', name, value: v as 'always' | 'everysec' | 'no' });
    else if (name === 'client-output-buffer-limit') this.obuf = obufLimits(v as string);
    else if (name === 'proto-max-bulk-len') {
      setMaxStringLength(v as number); // cross-shard LCS runs here
      this.shards.broadcast({ type: 'config', name, value: v as number });
    }
  }

  /** Stops accepting, lets in-flight commands finish, closes every LevelDB. Safe to call twice. */
  shutdown(reason: string, code = 0): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.log.info({ reason }, 'shutting down');
      // No new commands from now on: what clients send while we stop is not read.
      for (const c of this.clients.values()) c.socket.pause();
      if (this.cronTimer) clearInterval(this.cronTimer);
      for (const l of this.listeners) l.close();
      this.flushClients();
      // The pools share the shards' LevelDB handles: they stop first (a running backup is aborted).
      await this.backups?.stop();
      await this.sweeper?.stop();
      await this.shards.close();
      for (const c of this.clients.values()) c.kill();
      if (this.config.pidfile) fs.rmSync(this.config.pidfile as string, { force: true });
      this.log.info('Cairn is now ready to exit, bye bye...');
      this.onStopped?.(code);
    })();
    return this.stopping;
  }
}
