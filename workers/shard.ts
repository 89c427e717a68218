/**
 * Shard worker thread entry: runs one shard (src/shard/host.ts) on this thread's parentPort.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runShard, type ShardWorkerData } from '../src/shard/host.js';
import { setThreadBatch, setThreadName } from '../src/storage/native-memory.js';

const data = workerData as ShardWorkerData;
if (data.schedBatch) setThreadBatch(true);
setThreadName(`cairn-shard-${data.index}`);
void runShard(data, parentPort!);
