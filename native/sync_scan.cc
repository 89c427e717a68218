// Synchronous range reads of a classic-level database, on the calling thread.
//
// Why: classic-level iterates only through the libuv thread pool (a round trip per nextv(), about
// 0.5 ms under load), and a shard waits for it. A shard reads its collections in ranges (LRANGE,
// ZRANGE, HGETALL, SMEMBERS, SCAN, ranks), so each such command paid at least one round trip.
//
// How, without an ABI hazard (as sync_write.cc): the classic-level context is a `Database*` whose
// first member is `leveldb::DB* db_`; DB::NewIterator and every Iterator method are virtual, and
// ReadOptions and Slice are plain structs of LevelDB 1.20. Nothing is held across calls: each call
// opens an iterator, seeks, reads, and deletes it before returning, so a database closed between
// two calls is met as db_ == null (JS also checks the database's status first).
//
// scanSync(ctx, lower, lowerExclusive, upper, upperInclusive, flags, skip, limit, maxBytes)
//   lower/upper: Buffer or null (no bound). flags: 1 reverse, 2 keys, 4 values.
//   Passes over `skip` entries (counting them), then collects up to `limit` entries, stopping
//   early once their bytes reach maxBytes (after at least one). Returns one Buffer, native endian:
//     u32 count | u32 ended (1: the range has no more entries) | f64 skipped |
//     count x (u32 keyLength, u32 valueLength) | key0 value0 key1 value1 ...
//   (lengths are 0 for what the flags leave out).
// respSync(ctx, lower, lowerExclusive, upper, upperInclusive, flags, skip, limit, maxBytes, keySkip)
//   The same walk, for replies that list a range's keys and/or values (LRANGE, HGETALL, HKEYS,
//   HVALS, SMEMBERS, ZRANGE): each wanted key (less its first keySkip bytes, the collection's
//   prefix) and value comes out as a RESP bulk string, `$<len>\r\n<bytes>\r\n`, ready to append
//   to the reply (bulk strings are the same in RESP2 and RESP3). No per-entry work is left to JS.
//   flags 8 (scores): after each key, the score in the 8 bytes before its first keySkip bytes (a
//   sorted set's score index: sortable double, then member) as Redis 7.0 prints a double: a bulk
//   string of "%.17g" (inf, -inf; -0 as 0); with 16 too (RESP3), each entry as a [member, score]
//   pair, `*2\r\n` then the member and a RESP3 double, `,<%.17g>\r\n`.
//   Returns, native endian: u32 count | u32 ended | f64 skipped | u32 lastKeyLength | u32 0 |
//     last key (whole, where the next chunk starts after) | the RESP bytes.
// sizeSync(ctx, start, end) -> LevelDB's approximate bytes of [start, end) in table files.
// countSync(ctx, lower, lowerExclusive, upper, upperInclusive, limit) -> entries in the range,
//   at most `limit` (negative: no limit). Keys are compared in LevelDB, nothing is copied.
#include "classic.h"
#include <cstdio>
#include <cstring>
#include <vector>
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/slice.h"

namespace cairn {
namespace {

enum : uint32_t { kReverse = 1, kKeys = 2, kValues = 4, kScores = 8, kResp3 = 16 };

struct Range {
  bool hasLower = false, lowerExclusive = false, hasUpper = false, upperInclusive = false;
  leveldb::Slice lower, upper;
  bool reverse = false;

  // Positions `it` on the first entry of the range in iteration order (or leaves it invalid).
  void Start(leveldb::Iterator* it) const {
    if (!reverse) {
      if (!hasLower) return it->SeekToFirst();
      it->Seek(lower);
      if (lowerExclusive && it->Valid() && it->key().compare(lower) == 0) it->Next();
      return;
    }
    if (!hasUpper) return it->SeekToLast();
    it->Seek(upper);
    if (!it->Valid()) return it->SeekToLast();
    int c = it->key().compare(upper);
    if (c > 0 || (c == 0 && !upperInclusive)) it->Prev();
  }

  // True while the (valid) iterator's key has not passed the far end of the range.
  bool Within(const leveldb::Slice& key) const {
    if (!reverse) {
      if (!hasUpper) return true;
      int c = key.compare(upper);
      return c < 0 || (c == 0 && upperInclusive);
    }
    if (!hasLower) return true;
    int c = key.compare(lower);
    return c > 0 || (c == 0 && !lowerExclusive);
  }

  void Step(leveldb::Iterator* it) const {
    if (reverse) it->Prev();
    else it->Next();
  }
};

// Reads a range bound: a Buffer into `s` (present = true), or null/undefined (present = false).
// False after throwing.
bool ReadBound(napi_env env, napi_value v, leveldb::Slice& s, bool& present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  present = !(t == napi_null || t == napi_undefined);
  if (!present) return true;
  void* data = nullptr;
  size_t len = 0;
  bool isBuffer = false;
  if (napi_is_buffer(env, v, &isBuffer) != napi_ok || !isBuffer ||
      napi_get_buffer_info(env, v, &data, &len) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "a range bound must be a Buffer or null");
    return false;
  }
  s = leveldb::Slice(static_cast<const char*>(data), len);
  return true;
}

// Reads argv[at .. at+3] (lower, lowerExclusive, upper, upperInclusive) into `r`; false after throwing.
bool ReadBounds(napi_env env, napi_value* argv, Range& r) {
  for (int side = 0; side < 2; side++) {
    bool flag = false;
    napi_get_value_bool(env, argv[side * 2 + 1], &flag);
    leveldb::Slice s;
    bool present = false;
    if (!ReadBound(env, argv[side * 2], s, present)) return false;
    if (!present) continue;
    if (side == 0) {
      r.hasLower = true;
      r.lower = s;
      r.lowerExclusive = flag;
    } else {
      r.hasUpper = true;
      r.upper = s;
      r.upperInclusive = flag;
    }
  }
  return true;
}

double NumberArg(napi_env env, napi_value v, double fallback) {
  double d;
  return napi_get_value_double(env, v, &d) == napi_ok ? d : fallback;
}

// The open LevelDB of a classic-level context argument, or null after throwing.
leveldb::DB* DbArg(napi_env env, napi_value v) {
  void* ptr = ExternalArg(env, v, "expected a classic-level database context");
  if (ptr == nullptr) return nullptr;
  leveldb::DB* db = static_cast<ClassicDatabase*>(ptr)->db_;
  if (db == nullptr) napi_throw_error(env, "LEVEL_DATABASE_NOT_OPEN", "Database is not open");
  return db;
}

// The start every function here shares: reads up to `argc` arguments into argv (argc becomes how
// many were given), requires at least `min`, and returns the open LevelDB of argv[0]; null after
// throwing.
leveldb::DB* DbCall(napi_env env, napi_callback_info info, napi_value* argv, size_t& argc, size_t min, const char* usage) {
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < min) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", usage);
    return nullptr;
  }
  return DbArg(env, argv[0]);
}

// Throws the iterator's error, if any; deletes it either way. False when it threw.
bool Finish(napi_env env, leveldb::Iterator* it) {
  leveldb::Status s = it->status();
  delete it;
  if (s.ok()) return true;
  napi_throw_error(env, "CAIRN_LEVELDB_READ", StatusMessage(s).c_str());
  return false;
}

// Reused per thread (one shard per thread): a scan allocates nothing once they have grown.
thread_local std::vector<uint32_t> tLengths;
thread_local std::vector<char> tBytes;
constexpr size_t kKeepCapacity = 8u << 20;

// The arguments scanSync and respSync share: ctx, lower, lowerExclusive, upper, upperInclusive,
// flags, skip, limit, maxBytes (and respSync's keySkip after them).
struct ScanRequest {
  leveldb::DB* db = nullptr;
  Range r;
  double skip = 0;
  uint32_t limit = 0;
  size_t maxBytes = SIZE_MAX;
  bool wantKeys = false, wantValues = false;
  bool scores = false, resp3 = false;
  size_t keySkip = 0;
};

// Reads `want` arguments (9, or 10 with keySkip) into `q`; false after throwing.
bool ReadScanRequest(napi_env env, napi_callback_info info, size_t want, const char* usage, ScanRequest& q) {
  size_t argc = 10;
  napi_value argv[10];
  q.db = DbCall(env, info, argv, argc, want, usage);
  if (q.db == nullptr) return false;
  if (!ReadBounds(env, argv + 1, q.r)) return false;
  uint32_t flags = static_cast<uint32_t>(NumberArg(env, argv[5], 0));
  q.skip = NumberArg(env, argv[6], 0);
  double limitArg = NumberArg(env, argv[7], 0);
  double maxBytesArg = NumberArg(env, argv[8], 0);
  q.limit = limitArg <= 0 ? 0 : limitArg >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(limitArg);
  q.maxBytes = maxBytesArg <= 0 ? SIZE_MAX : static_cast<size_t>(maxBytesArg);
  if (want > 9) {
    double keySkipArg = NumberArg(env, argv[9], 0);
    q.keySkip = keySkipArg <= 0 ? 0 : static_cast<size_t>(keySkipArg);
  }
  q.r.reverse = (flags & kReverse) != 0;
  q.wantKeys = (flags & kKeys) != 0;
  q.wantValues = (flags & kValues) != 0;
  q.scores = (flags & kScores) != 0;
  q.resp3 = (flags & kResp3) != 0;
  return true;
}

struct WalkResult {
  uint32_t count = 0;
  uint32_t ended = 0;  // 1: the range has no more entries
  double skipped = 0;
};

// Walks the request's range: passes over `skip` entries (counting them), then calls
// visit(key, iterator) for each entry until `limit` of them, or until `bytes` (what the visitor
// collects) reaches maxBytes, after at least one. False after throwing.
template <typename Visit>
bool Walk(napi_env env, const ScanRequest& q, const std::vector<char>& bytes, WalkResult& out, Visit visit) {
  leveldb::Iterator* it = q.db->NewIterator(leveldb::ReadOptions());
  q.r.Start(it);
  while (out.skipped < q.skip && it->Valid() && q.r.Within(it->key())) {
    out.skipped++;
    q.r.Step(it);
  }
  while (out.count < q.limit && bytes.size() < q.maxBytes && it->Valid()) {
    leveldb::Slice k = it->key();
    if (!q.r.Within(k)) break;
    visit(k, it);
    out.count++;
    q.r.Step(it);
  }
  out.ended = (!it->Valid() || !q.r.Within(it->key())) ? 1 : 0;
  return Finish(env, it);
}

// A Buffer of the `head` bytes the caller writes at its start, then `bytes`.
template <typename WriteHead>
napi_value ResultBuffer(napi_env env, size_t head, std::vector<char>& bytes, WriteHead writeHead) {
  void* out = nullptr;
  napi_value result;
  if (napi_create_buffer(env, head + bytes.size(), &out, &result) != napi_ok) return nullptr;
  char* p = static_cast<char*>(out);
  writeHead(p);
  if (!bytes.empty()) std::memcpy(p + head, bytes.data(), bytes.size());
  if (bytes.capacity() > kKeepCapacity) std::vector<char>().swap(bytes);
  return result;
}

// The first 16 bytes of both replies: count, ended, skipped.
void WriteWalkHead(char* p, const WalkResult& w) {
  std::memcpy(p, &w.count, 4);
  std::memcpy(p + 4, &w.ended, 4);
  std::memcpy(p + 8, &w.skipped, 8);
}

napi_value ScanSync(napi_env env, napi_callback_info info) {
  ScanRequest q;
  if (!ReadScanRequest(env, info, 9, "scanSync takes 9 arguments", q)) return nullptr;
  std::vector<uint32_t>& lengths = tLengths;
  std::vector<char>& bytes = tBytes;
  lengths.clear();
  bytes.clear();
  WalkResult w;
  bool ok = Walk(env, q, bytes, w, [&](leveldb::Slice k, leveldb::Iterator* it) {
    leveldb::Slice v = q.wantValues ? it->value() : leveldb::Slice();
    if (!q.wantKeys) k = leveldb::Slice();
    lengths.push_back(static_cast<uint32_t>(k.size()));
    lengths.push_back(static_cast<uint32_t>(v.size()));
    bytes.insert(bytes.end(), k.data(), k.data() + k.size());
    bytes.insert(bytes.end(), v.data(), v.data() + v.size());
  });
  if (!ok) return nullptr;
  size_t head = 16 + lengths.size() * sizeof(uint32_t);
  napi_value result = ResultBuffer(env, head, bytes, [&](char* p) {
    WriteWalkHead(p, w);
    if (!lengths.empty()) std::memcpy(p + 16, lengths.data(), lengths.size() * sizeof(uint32_t));
  });
  if (lengths.capacity() > kKeepCapacity) std::vector<uint32_t>().swap(lengths);
  return result;
}

// Appends `$<len>\r\n<data>\r\n` to `out`.
void AppendBulk(std::vector<char>& out, const char* data, size_t len) {
  char head[24];
  char* e = head + sizeof(head);
  char* p = e;
  size_t n = len;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  *--p = '$';
  out.insert(out.end(), p, e);
  out.push_back('\r');
  out.push_back('\n');
  out.insert(out.end(), data, data + len);
  out.push_back('\r');
  out.push_back('\n');
}

thread_local std::vector<char> tLastKey;

// The score of a sorted set's index key: the sortable double (big-endian, sign bit flipped for
// positives, every bit for negatives) in the 8 bytes at `at`.
double SortableDouble(const char* at) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | static_cast<unsigned char>(at[i]);
  if (u >> 63) u &= ~(uint64_t{1} << 63);
  else u = ~u;
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

// Appends a score as Redis 7.0 replies with a double: "%.17g" (C's inf/-inf), as a bulk string
// in RESP2 and as a RESP3 double (`,<text>\r\n`).
void AppendScore(std::vector<char>& out, double d, bool resp3) {
  if (d == 0) d = 0;  // -0 prints as 0
  char text[40];
  int n = std::snprintf(text, sizeof text, "%.17g", d);
  if (resp3) {
    out.push_back(',');
    out.insert(out.end(), text, text + n);
    out.push_back('\r');
    out.push_back('\n');
  } else {
    AppendBulk(out, text, static_cast<size_t>(n));
  }
}

napi_value RespSync(napi_env env, napi_callback_info info) {
  ScanRequest q;
  if (!ReadScanRequest(env, info, 10, "respSync takes 10 arguments", q)) return nullptr;
  std::vector<char>& bytes = tBytes;
  std::vector<char>& lastKey = tLastKey;
  bytes.clear();
  lastKey.clear();
  WalkResult w;
  bool ok = Walk(env, q, bytes, w, [&](leveldb::Slice k, leveldb::Iterator* it) {
    if (q.scores && q.resp3) bytes.insert(bytes.end(), {'*', '2', '\r', '\n'});
    if (q.wantKeys) {
      size_t cut = q.keySkip < k.size() ? q.keySkip : k.size();
      AppendBulk(bytes, k.data() + cut, k.size() - cut);
    }
    if (q.scores && q.keySkip >= 8 && k.size() >= q.keySkip) AppendScore(bytes, SortableDouble(k.data() + q.keySkip - 8), q.resp3);
    if (q.wantValues) {
      leveldb::Slice v = it->value();
      AppendBulk(bytes, v.data(), v.size());
    }
    // The key slice is only valid until the iterator moves: keep a copy of the last one.
    lastKey.assign(k.data(), k.data() + k.size());
  });
  if (!ok) return nullptr;
  uint32_t lastLen = static_cast<uint32_t>(lastKey.size());
  return ResultBuffer(env, 24 + lastKey.size(), bytes, [&](char* p) {
    WriteWalkHead(p, w);
    uint32_t zero = 0;
    std::memcpy(p + 16, &lastLen, 4);
    std::memcpy(p + 20, &zero, 4);
    if (!lastKey.empty()) std::memcpy(p + 24, lastKey.data(), lastKey.size());
  });
}

napi_value CountSync(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  leveldb::DB* db = DbCall(env, info, argv, argc, 5, "countSync takes 5 or 6 arguments");
  if (db == nullptr) return nullptr;
  Range r;
  if (!ReadBounds(env, argv + 1, r)) return nullptr;
  double limit = argc > 5 ? NumberArg(env, argv[5], -1) : -1;
  leveldb::Iterator* it = db->NewIterator(leveldb::ReadOptions());
  double n = 0;
  for (r.Start(it); (limit < 0 || n < limit) && it->Valid() && r.Within(it->key()); r.Step(it)) n++;
  if (!Finish(env, it)) return nullptr;
  napi_value result;
  napi_create_double(env, n, &result);
  return result;
}

// sizeSync(ctx, start, end) -> LevelDB's estimate of the bytes the table files hold for keys in
// [start, end) (DB::GetApproximateSizes: index lookups, no data read; what is still in the
// memtables is not counted). For choosing the cheaper end of a count.
napi_value SizeSync(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  leveldb::DB* db = DbCall(env, info, argv, argc, 3, "sizeSync takes 3 arguments");
  if (db == nullptr) return nullptr;
  leveldb::Range range;
  bool hasStart = false, hasEnd = false;
  if (!ReadBound(env, argv[1], range.start, hasStart) || !ReadBound(env, argv[2], range.limit, hasEnd)) return nullptr;
  if (!hasStart || !hasEnd) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "sizeSync needs both ends");
    return nullptr;
  }
  uint64_t size = 0;
  db->GetApproximateSizes(&range, 1, &size);
  napi_value result;
  napi_create_double(env, static_cast<double>(size), &result);
  return result;
}

}  // namespace

void RegisterScan(napi_env env, napi_value exports) {
  Export(env, exports, "scanSync", ScanSync);
  Export(env, exports, "respSync", RespSync);
  Export(env, exports, "sizeSync", SizeSync);
  Export(env, exports, "countSync", CountSync);
}

}  // namespace cairn
