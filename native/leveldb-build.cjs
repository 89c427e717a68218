// Rebuilds classic-level's own sources (its binding and LevelDB 1.20) with a few patches, during
// `npm install` (~15 s on 2 cores), and puts the result where classic-level looks first
// (node_modules/classic-level/build/Release, before its prebuilds: node-gyp-build's order).
// If the build fails, that directory is removed and classic-level's prebuild is used unchanged:
// Cairn works the same, with the costs the patches remove.
//
// Every patch is a literal replacement that must match exactly once; a classic-level release that
// changed the text fails the build (and falls back) instead of building something half patched.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const LEVELDB = 'deps/leveldb/leveldb-1.20';

/** The patches, each with why. Listed by name in the marker file and in INFO (cairn_leveldb_patches). */
const PATCHES = [
  {
    name: 'no-seek-compaction',
    // LevelDB charges a "seek" to the first table file of every Get that had to look in two or
    // more files, and compacts a file after ~128 such reads (file size / 16 KB). A random-read
    // load over a dataset with several levels then keeps the one compaction thread busy merging
    // files that no write touched: in bench:capacity at 1 GiB it took 57% of a core during a
    // read-only load (2 cores in all). Size-triggered compactions are unchanged. RocksDB dropped
    // seek compactions for the same reason.
    file: `${LEVELDB}/db/version_set.cc`,
    find: 'f->allowed_seeks = (f->file_size / 16384);',
    replace: 'f->allowed_seeks = (1 << 30);  // cairn: no seek-triggered compactions',
  },
  {
    name: 'sse42-crc32c',
    // classic-level's gyp file builds LevelDB without LEVELDB_PLATFORM_POSIX_SSE, so every CRC32C
    // (each log record, each table block written) is computed in software. LevelDB's SSE4.2 version
    // checks the CPU at run time (cpuid) and falls back by itself; this compiles it on x86-64.
    file: `${LEVELDB}/port/port_posix_sse.cc`,
    find: '#include "port/port.h"\n',
    replace:
      '#include "port/port.h"\n' +
      '// cairn: the SSE4.2 CRC32C, for this file only (used after a cpuid check)\n' +
      '#if defined(__x86_64__) && defined(__GNUC__) && !defined(LEVELDB_PLATFORM_POSIX_SSE)\n' +
      '#pragma GCC target("sse4.2")\n' +
      '#define LEVELDB_PLATFORM_POSIX_SSE 1\n' +
      '#include <nmmintrin.h>\n' +
      '#include <cpuid.h>\n' +
      '#endif\n',
  },
  ...backgroundThreadPatches(),
  ...memtableSplicePatches(),
  ...tableTailReadPatches(),
  {
    name: 'get-many',
    // Exports cairn_leveldb_get_many (native/leveldb-get-many.inc, appended to db_impl.cc): many
    // point reads in one call, overlapped on a small thread pool once one of them reaches the disk.
    // A shard reads the records a frame of commands will need through it before running them
    // (src/storage/get-many.ts), instead of waiting for each command's disk reads in turn.
    file: `${LEVELDB}/db/db_impl.cc`,
    find: '}  // namespace leveldb\n',
    replace: '}  // namespace leveldb\n' + fs.readFileSync(path.join(__dirname, 'leveldb-get-many.inc'), 'utf8'),
  },
];

/**
 * `table-tail-read`: opening a table file (a read that finds it outside LevelDB's table cache, whose
 * size the memory budget caps) reads its footer, index block, metaindex block and bloom filter: four
 * preads of the file's last ~15 KB, four trips to the disk when the page cache does not hold them
 * (this machine's VM gives file pages back within minutes, so at 20x the memory budget most GETs
 * that open a table pay them). The patch reads the tail once and serves those four reads from it;
 * anything outside it reads the file as before. Data blocks are read as before.
 * How much to read: what that file needed the last time it was opened (the table cache evicts and
 * reopens the same files over and over at 20x: TableCache::FindTable names the file it opens, and
 * a process-wide map keeps each file's size until TableCache::Evict, when the file is deleted);
 * for a file not opened before, what the previous open needed plus an eighth (16 KB to start, 4 KB
 * to 256 KB). Tails differ 10x between tables of strings (~12 KB) and of collection sub-keys
 * (~100 KB of bloom filter): with only the shared guess, opens alternating between the two kinds
 * read either far too much or too little (then a second read for the filter).
 */
function tableTailReadPatches() {
  const file = `${LEVELDB}/table/table.cc`;
  return [
    {
      name: 'table-tail-read',
      file,
      find: 'namespace leveldb {\n\nstruct Table::Rep {\n',
      replace:
        'namespace leveldb {\n\n' +
        '// cairn (table-tail-read): a file view that serves reads inside a buffered tail of the file.\n' +
        'namespace {\n' +
        'size_t cairn_tail_guess = 16 * 1024;  // a hint, shared by every table open (races are harmless)\n' +
        'class CairnTailFile : public RandomAccessFile {\n' +
        ' public:\n' +
        '  CairnTailFile(RandomAccessFile* file, uint64_t base, const Slice& tail)\n' +
        '      : file_(file), base_(base), tail_(tail), lowest_(base + tail.size()) { }\n' +
        '  virtual Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const {\n' +
        '    if (offset < lowest_) lowest_ = offset;\n' +
        '    if (offset >= base_ && offset + n <= base_ + tail_.size()) {\n' +
        '      memcpy(scratch, tail_.data() + (offset - base_), n);\n' +
        '      *result = Slice(scratch, n);\n' +
        '      return Status::OK();\n' +
        '    }\n' +
        '    return file_->Read(offset, n, result, scratch);\n' +
        '  }\n' +
        '  uint64_t lowest() const { return lowest_; }\n' +
        ' private:\n' +
        '  RandomAccessFile* file_;\n' +
        '  uint64_t base_;\n' +
        '  Slice tail_;\n' +
        '  mutable uint64_t lowest_;\n' +
        '};\n' +
        '}  // namespace\n\n' +
        '// cairn (table-tail-read): each open table file\'s tail size, by (table cache, file number).\n' +
        'namespace {\n' +
        'port::Mutex cairn_tail_mu;\n' +
        'std::map<std::pair<const void*, uint64_t>, size_t>* cairn_tail_sizes = NULL;  // under cairn_tail_mu\n' +
        '__thread const void* cairn_opening_owner = NULL;\n' +
        '__thread uint64_t cairn_opening_number = 0;\n' +
        '}  // namespace\n' +
        'void CairnTailOpening(const void* owner, uint64_t number) {\n' +
        '  cairn_opening_owner = owner;\n' +
        '  cairn_opening_number = number;\n' +
        '}\n' +
        'void CairnTailForget(const void* owner, uint64_t number) {\n' +
        '  MutexLock l(&cairn_tail_mu);\n' +
        '  if (cairn_tail_sizes != NULL) cairn_tail_sizes->erase(std::make_pair(owner, number));\n' +
        '}\n' +
        'void CairnTailForgetAll(const void* owner) {\n' +
        '  MutexLock l(&cairn_tail_mu);\n' +
        '  if (cairn_tail_sizes == NULL) return;\n' +
        '  std::map<std::pair<const void*, uint64_t>, size_t>::iterator it =\n' +
        '      cairn_tail_sizes->lower_bound(std::make_pair(owner, static_cast<uint64_t>(0)));\n' +
        '  while (it != cairn_tail_sizes->end() && it->first.first == owner) cairn_tail_sizes->erase(it++);\n' +
        '}\n' +
        'namespace {\n' +
        '// The tail to read for the file being opened: its own if known, else the shared guess.\n' +
        'size_t CairnTailGuess() {\n' +
        '  if (cairn_opening_owner != NULL) {\n' +
        '    MutexLock l(&cairn_tail_mu);\n' +
        '    if (cairn_tail_sizes != NULL) {\n' +
        '      std::map<std::pair<const void*, uint64_t>, size_t>::const_iterator it =\n' +
        '          cairn_tail_sizes->find(std::make_pair(cairn_opening_owner, cairn_opening_number));\n' +
        '      if (it != cairn_tail_sizes->end()) return it->second;\n' +
        '    }\n' +
        '  }\n' +
        '  return __atomic_load_n(&cairn_tail_guess, __ATOMIC_RELAXED);\n' +
        '}\n' +
        '// What the file being opened needed: remembered for it, and (plus an eighth) the shared guess.\n' +
        'void CairnTailNeeded(uint64_t needed) {\n' +
        '  if (cairn_opening_owner != NULL) {\n' +
        '    MutexLock l(&cairn_tail_mu);\n' +
        '    if (cairn_tail_sizes == NULL) cairn_tail_sizes = new std::map<std::pair<const void*, uint64_t>, size_t>();\n' +
        '    (*cairn_tail_sizes)[std::make_pair(cairn_opening_owner, cairn_opening_number)] = static_cast<size_t>(needed);\n' +
        '  }\n' +
        '  size_t next = static_cast<size_t>(needed + needed / 8 + 64);\n' +
        '  if (next < 4096) next = 4096;\n' +
        '  if (next > 256 * 1024) next = 256 * 1024;\n' +
        '  __atomic_store_n(&cairn_tail_guess, next, __ATOMIC_RELAXED);\n' +
        '}\n' +
        '}  // namespace\n\n' +
        'struct Table::Rep {\n',
    },
    {
      name: 'table-tail-read',
      file,
      find:
        '  char footer_space[Footer::kEncodedLength];\n' +
        '  Slice footer_input;\n' +
        '  Status s = file->Read(size - Footer::kEncodedLength, Footer::kEncodedLength,\n' +
        '                        &footer_input, footer_space);\n' +
        '  if (!s.ok()) return s;\n',
      replace:
        '  // cairn (table-tail-read): one read for the footer, index, metaindex and filter blocks.\n' +
        '  size_t guess = CairnTailGuess();\n' +
        '  size_t tail_size = size < guess ? static_cast<size_t>(size) : guess;\n' +
        '  std::string tail_space(tail_size, \'\\0\');\n' +
        '  Slice tail_input;\n' +
        '  Status s = file->Read(size - tail_size, tail_size, &tail_input, &tail_space[0]);\n' +
        '  if (!s.ok()) return s;\n' +
        '  if (tail_input.size() != tail_size) return Status::Corruption("truncated table tail");\n' +
        '  CairnTailFile tail_file(file, size - tail_size, tail_input);\n' +
        '  char footer_space[Footer::kEncodedLength];\n' +
        '  Slice footer_input;\n' +
        '  s = tail_file.Read(size - Footer::kEncodedLength, Footer::kEncodedLength,\n' +
        '                     &footer_input, footer_space);\n' +
        '  if (!s.ok()) return s;\n',
    },
    {
      name: 'table-tail-read',
      file,
      find: '    s = ReadBlock(file, opt, footer.index_handle(), &contents);\n',
      replace: '    s = ReadBlock(&tail_file, opt, footer.index_handle(), &contents);\n',
    },
    {
      name: 'table-tail-read',
      file,
      find: '    *table = new Table(rep);\n    (*table)->ReadMeta(footer);\n',
      replace:
        '    *table = new Table(rep);\n' +
        '    rep->file = &tail_file;  // cairn (table-tail-read): the metaindex and filter reads\n' +
        '    (*table)->ReadMeta(footer);\n' +
        '    rep->file = file;\n' +
        '    CairnTailNeeded(size - tail_file.lowest());\n',
    },
    {
      name: 'table-tail-read',
      file,
      find: '#include "table/two_level_iterator.h"\n',
      replace: '#include "table/two_level_iterator.h"\n#include <map>\n#include <utility>\n#include "port/port.h"\n#include "util/mutexlock.h"\n',
    },
    {
      name: 'table-tail-read',
      file: `${LEVELDB}/db/table_cache.cc`,
      find: '#include "util/coding.h"\n\nnamespace leveldb {\n',
      replace:
        '#include "util/coding.h"\n\nnamespace leveldb {\n\n' +
        '// cairn (table-tail-read, table/table.cc): names the file Table::Open opens on this thread, and\n' +
        '// forgets what was learned about a file (deleted) or a whole table cache (closed).\n' +
        'void CairnTailOpening(const void* owner, uint64_t number);\n' +
        'void CairnTailForget(const void* owner, uint64_t number);\n' +
        'void CairnTailForgetAll(const void* owner);\n',
    },
    {
      name: 'table-tail-read',
      file: `${LEVELDB}/db/table_cache.cc`,
      find: '      s = Table::Open(*options_, file, file_size, &table);\n',
      replace:
        '      CairnTailOpening(this, file_number);\n' +
        '      s = Table::Open(*options_, file, file_size, &table);\n' +
        '      CairnTailOpening(NULL, 0);\n',
    },
    {
      name: 'table-tail-read',
      file: `${LEVELDB}/db/table_cache.cc`,
      find: 'TableCache::~TableCache() {\n  delete cache_;\n}\n',
      replace: 'TableCache::~TableCache() {\n  delete cache_;\n  CairnTailForgetAll(this);\n}\n',
    },
    {
      name: 'table-tail-read',
      file: `${LEVELDB}/db/table_cache.cc`,
      find: '  cache_->Erase(Slice(buf, sizeof(buf)));\n}\n',
      replace: '  cache_->Erase(Slice(buf, sizeof(buf)));\n  CairnTailForget(this, file_number);\n}\n',
    },
  ];
}

/**
 * `memtable-splice`: the memtable is a skip list, and LevelDB 1.20 searches it from the top for
 * every record it inserts: about log4(n) levels of pointer chasing through a few MB, a cache miss
 * per step, and about half of a shard's CPU per write at -P 16 (perf). The shard hands LevelDB
 * each group commit sorted by key (native/sync_write.cc), and with this patch an insert whose key
 * comes after the previous insert's starts from the nodes that insert passed at each level (a
 * "splice", as RocksDB's InlineSkipList keeps): it finds the lowest level whose gap still holds the
 * new key and searches down from there, among nodes it just touched. Any other insert searches
 * from the top as before. The splice is the writer's own state (inserts are externally
 * synchronized; readers never look at it) and nodes are never removed, so it stays valid.
 */
function memtableSplicePatches() {
  const file = `${LEVELDB}/db/skiplist.h`;
  return [
    {
      name: 'memtable-splice',
      file,
      find: '  // Read/written only by Insert().\n  Random rnd_;\n',
      replace:
        '  // Read/written only by Insert().\n  Random rnd_;\n\n' +
        '  // cairn (memtable-splice): the node at each level that the last Insert() linked after (or\n' +
        '  // the node it inserted, below its height), and that node. Read/written only by Insert().\n' +
        '  Node* splice_[kMaxHeight];\n' +
        '  Node* last_inserted_;\n' +
        '  Node* FindFromSplice(const Key& key, Node** prev) const;\n',
    },
    {
      name: 'memtable-splice',
      file,
      find: '  for (int i = 0; i < kMaxHeight; i++) {\n    head_->SetNext(i, NULL);\n  }\n}\n',
      replace:
        '  for (int i = 0; i < kMaxHeight; i++) {\n    head_->SetNext(i, NULL);\n    splice_[i] = head_;\n  }\n  last_inserted_ = NULL;\n}\n\n' +
        '// cairn (memtable-splice): FindGreaterOrEqual for a key after last_inserted_, starting from the\n' +
        '// splice. At level i the splice node is the last level-i node with a key <= the last inserted\n' +
        '// key, so it precedes `key`; if no level-i node lies between them it is also the predecessor of\n' +
        '// `key` there, and then at every level above too (each level\'s nodes are a subset of the\n' +
        '// level below\'s). So: find the lowest such level, take the splice above it, search down below.\n' +
        'template<typename Key, class Comparator>\n' +
        'typename SkipList<Key,Comparator>::Node*\n' +
        'SkipList<Key,Comparator>::FindFromSplice(const Key& key, Node** prev) const {\n' +
        '  const int top = GetMaxHeight() - 1;\n' +
        '  int level = 0;\n' +
        '  while (level < top && KeyIsAfterNode(key, splice_[level]->Next(level))) level++;\n' +
        '  for (int i = top; i > level; i--) prev[i] = splice_[i];\n' +
        '  Node* x = splice_[level];\n' +
        '  while (true) {\n' +
        '    Node* next = x->Next(level);\n' +
        '    if (KeyIsAfterNode(key, next)) {\n' +
        '      x = next;\n' +
        '    } else {\n' +
        '      prev[level] = x;\n' +
        '      if (level == 0) return next;\n' +
        '      level--;\n' +
        '    }\n' +
        '  }\n' +
        '}\n',
    },
    {
      name: 'memtable-splice',
      file,
      find: '  Node* prev[kMaxHeight];\n  Node* x = FindGreaterOrEqual(key, prev);\n',
      replace:
        '  Node* prev[kMaxHeight];\n' +
        '  // cairn (memtable-splice): ascending inserts (sorted batches) start from the last one\'s splice.\n' +
        '  Node* x = last_inserted_ != NULL && compare_(last_inserted_->key, key) < 0\n' +
        '      ? FindFromSplice(key, prev) : FindGreaterOrEqual(key, prev);\n',
    },
    {
      name: 'memtable-splice',
      file,
      find: '    x->NoBarrier_SetNext(i, prev[i]->NoBarrier_Next(i));\n    prev[i]->SetNext(i, x);\n  }\n',
      replace:
        '    x->NoBarrier_SetNext(i, prev[i]->NoBarrier_Next(i));\n    prev[i]->SetNext(i, x);\n  }\n' +
        '  // cairn (memtable-splice)\n' +
        '  for (int i = 0; i < height; i++) splice_[i] = x;\n' +
        '  for (int i = height; i < GetMaxHeight(); i++) splice_[i] = prev[i];\n' +
        '  last_inserted_ = x;\n',
    },
  ];
}

/**
 * `background-threads`: LevelDB 1.20 runs every database's compactions and memtable flushes on one
 * background thread per process (its default Env). With a shard per core, a long compaction of
 * one shard held up the memtable flush of another, whose writes then stalled: group commits of
 * 2.68 s in a 5 GiB bench:capacity load. LevelDB schedules at most one background job per
 * database at a time and its Env contract allows jobs to run concurrently ("the caller may not
 * assume that background work items are serialized"), so several threads are safe: the server
 * asks for one per shard (CAIRN_LEVELDB_BG_THREADS, read when the first job is scheduled;
 * unset: 1, LevelDB's own behaviour). Each thread names itself `leveldb-bg`, and applies the nice
 * value given to `cairn_leveldb_set_bg_nice` (exported; leveldb-compaction-nice) before its next job.
 */
function backgroundThreadPatches() {
  const file = `${LEVELDB}/util/env_posix.cc`;
  return [
    {
      name: 'background-threads',
      file,
      find: '#include <sys/resource.h>\n',
      replace: '#include <sys/resource.h>\n#if defined(__linux__)\n#include <sys/prctl.h>\n#include <sys/syscall.h>\n#endif\n',
    },
    {
      name: 'background-threads',
      file,
      find: 'void PosixEnv::Schedule(void (*function)(void*), void* arg) {\n',
      replace:
        '// cairn: how many background threads, their name and priority (see background-threads).\n' +
        'static int CairnBackgroundThreads() {\n' +
        '  const char* s = getenv("CAIRN_LEVELDB_BG_THREADS");\n' +
        '  int n = s != NULL ? atoi(s) : 1;\n' +
        '  return n < 1 ? 1 : n > 64 ? 64 : n;\n' +
        '}\n' +
        'static int cairn_bg_nice = 0;\n' +
        'static int cairn_bg_nice_generation = 0;\n' +
        'static void CairnSetBgNice(int nice) {\n' +
        '  __atomic_store_n(&cairn_bg_nice, nice, __ATOMIC_RELAXED);\n' +
        '  __atomic_add_fetch(&cairn_bg_nice_generation, 1, __ATOMIC_RELEASE);\n' +
        '}\n' +
        'static void CairnBackgroundThreadStep(int* seen) {\n' +
        '  int generation = __atomic_load_n(&cairn_bg_nice_generation, __ATOMIC_ACQUIRE);\n' +
        '  if (generation == *seen) return;\n' +
        '  *seen = generation;\n' +
        '#if defined(__linux__)\n' +
        '  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), __atomic_load_n(&cairn_bg_nice, __ATOMIC_RELAXED));\n' +
        '#endif\n' +
        '}\n\n' +
        'void PosixEnv::Schedule(void (*function)(void*), void* arg) {\n',
    },
    {
      name: 'background-threads',
      file,
      find:
        '  if (!started_bgthread_) {\n' +
        '    started_bgthread_ = true;\n' +
        '    PthreadCall(\n' +
        '        "create thread",\n' +
        '        pthread_create(&bgthread_, NULL,  &PosixEnv::BGThreadWrapper, this));\n' +
        '  }\n' +
        '\n' +
        '  // If the queue is currently empty, the background thread may currently be\n' +
        '  // waiting.\n' +
        '  if (queue_.empty()) {\n' +
        '    PthreadCall("signal", pthread_cond_signal(&bgsignal_));\n' +
        '  }\n',
      replace:
        '  if (!started_bgthread_) {\n' +
        '    started_bgthread_ = true;\n' +
        '    for (int i = CairnBackgroundThreads(); i > 0; i--) {\n' +
        '      PthreadCall(\n' +
        '          "create thread",\n' +
        '          pthread_create(&bgthread_, NULL,  &PosixEnv::BGThreadWrapper, this));\n' +
        '    }\n' +
        '  }\n' +
        '\n' +
        '  // cairn: several threads may be waiting; wake one for every item.\n' +
        '  PthreadCall("signal", pthread_cond_signal(&bgsignal_));\n',
    },
    {
      name: 'background-threads',
      file,
      find: 'void PosixEnv::BGThread() {\n  while (true) {\n',
      replace:
        'void PosixEnv::BGThread() {\n' +
        '#if defined(__linux__)\n' +
        '  prctl(PR_SET_NAME, "leveldb-bg", 0, 0, 0);\n' +
        '#endif\n' +
        '  int cairn_nice_seen = 0;\n' +
        '  CairnBackgroundThreadStep(&cairn_nice_seen);\n' +
        '  while (true) {\n',
    },
    {
      name: 'background-threads',
      file,
      find: '    PthreadCall("unlock", pthread_mutex_unlock(&mu_));\n    (*function)(arg);\n',
      replace: '    PthreadCall("unlock", pthread_mutex_unlock(&mu_));\n    CairnBackgroundThreadStep(&cairn_nice_seen);\n    (*function)(arg);\n',
    },
    {
      name: 'background-threads',
      file,
      find: 'Env* Env::Default() {\n  pthread_once(&once, InitDefaultEnv);\n  return default_env;\n}\n',
      replace:
        'Env* Env::Default() {\n  pthread_once(&once, InitDefaultEnv);\n  return default_env;\n}\n\n' +
        '}  // namespace leveldb\n\n' +
        '// cairn: the nice value of every background thread, applied before its next job.\n' +
        'extern "C" __attribute__((visibility("default"))) void cairn_leveldb_set_bg_nice(int nice) {\n' +
        '  leveldb::CairnSetBgNice(nice);\n' +
        '}\n\n' +
        'namespace leveldb {\n',
    },
  ];
}

/** The files of classic-level that its build reads. */
const SOURCES = ['package.json', 'binding.gyp', 'binding.cc', 'deps'];

function applyPatch(dir, patch) {
  const file = path.join(dir, patch.file);
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(patch.find);
  if (at < 0 || text.indexOf(patch.find, at + 1) >= 0) {
    throw new Error(`patch ${patch.name}: the text to replace is not in ${patch.file} exactly once`);
  }
  fs.writeFileSync(file, text.slice(0, at) + patch.replace + text.slice(at + patch.find.length));
}

/**
 * Builds the patched classic-level in `workDir` and installs it into `classicDir`. Returns true when
 * the patched build is in place, false when classic-level's prebuild stays in use.
 */
function buildPatchedClassicLevel(classicDir, workDir) {
  const installed = path.join(classicDir, 'build');
  try {
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.mkdirSync(workDir, { recursive: true });
    for (const s of SOURCES) fs.cpSync(path.join(classicDir, s), path.join(workDir, s), { recursive: true });
    for (const p of PATCHES) applyPatch(workDir, p);
    const r = spawnSync('node-gyp', ['rebuild', '-j', 'max', '--directory', workDir], { stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) throw new Error(`node-gyp exited with ${r.status}`);
    const built = path.join(workDir, 'build', 'Release', 'classic_level.node');
    fs.rmSync(installed, { recursive: true, force: true });
    fs.mkdirSync(path.join(installed, 'Release'), { recursive: true });
    fs.copyFileSync(built, path.join(installed, 'Release', 'classic_level.node'));
    const { version } = JSON.parse(fs.readFileSync(path.join(classicDir, 'package.json'), 'utf8'));
    const names = [...new Set(PATCHES.map((p) => p.name))];
    fs.writeFileSync(path.join(installed, 'cairn-patches.json'), JSON.stringify({ classicLevel: version, patches: names }) + '\n');
    return true;
  } catch (e) {
    fs.rmSync(installed, { recursive: true, force: true });
    console.warn(`cairn: the patched LevelDB did not build (${e.message}); classic-level's prebuild is used unchanged.`);
    return false;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

module.exports = { buildPatchedClassicLevel };
