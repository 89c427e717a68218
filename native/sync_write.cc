// Synchronous write of a classic-level chained batch, on the calling thread.
//
// Why: classic-level writes batches only through the libuv thread pool. A shard waits for that
// write before it may reply (group commit), so every turn with a write paid a round trip to a
// pool thread (~200 us under load on 2 vCPUs, bench/). Writing on the shard's own thread takes
// the write() of LevelDB's log and the memtable insert, nothing more.
//
// How, without an ABI hazard: classic-level keeps a batch as the struct below (two pointers and a
// flag, binding.cc `struct Batch`), and its `struct Database` has no virtual methods and keeps
// `leveldb::DB* db_` first. We read those pointers and call the virtual DB::Write, which runs
// classic-level's own compiled LevelDB on its own WriteBatch. No std::string or other
// library-ABI type crosses between the two binaries. The layout is pinned to classic-level 3.x
// (checked by test/native.test.ts); if this addon cannot load, Cairn writes asynchronously.
#include "classic.h"
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>
#include "leveldb/options.h"
#include "leveldb/write_batch.h"

namespace {

using cairn::ClassicDatabase;
using cairn::StatusMessage;

struct ClassicBatch {
  ClassicDatabase* database_;
  leveldb::WriteBatch* batch_;
  bool hasData_;
};

// Writes the batch through its database's DB::Write; a JS exception on a closed database or a failure.
void WriteBatchNow(napi_env env, ClassicBatch* batch, bool sync) {
  if (batch->database_ == nullptr || batch->database_->db_ == nullptr) {
    napi_throw_error(env, "LEVEL_DATABASE_NOT_OPEN", "Database is not open");
    return;
  }
  leveldb::WriteOptions options;
  options.sync = sync;
  leveldb::Status status = batch->database_->db_->Write(options, batch->batch_);
  if (!status.ok()) {
    napi_throw_error(env, "CAIRN_LEVELDB_WRITE", StatusMessage(status).c_str());
  }
}

napi_value WriteSync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* ptr = argc < 1 ? nullptr : cairn::ExternalArg(env, argv[0], "expected a classic-level batch context");
  if (ptr == nullptr) return nullptr;
  bool sync = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &sync);
  ClassicBatch* batch = static_cast<ClassicBatch*>(ptr);
  if (batch->hasData_) WriteBatchNow(env, batch, sync);
  return nullptr;
}

// Batch contents encoded in JS. A WriteBatch's contents ("rep") have a documented format
// (leveldb/db/write_batch.cc: 8-byte sequence, 4-byte count, then per record a tag byte and
// varint32-prefixed key and value), so the shard encodes a whole group commit into one Buffer and
// hands it over in one call, instead of one batch_put call into classic-level per record.
// WriteBatchInternal::SetContents copies it into the batch's own std::string: it runs inside
// classic-level's binary, on its own objects; we pass it a Slice (a pointer and a length). The
// symbol is found in classic-level's already-loaded binary with dlsym (bindBatchContents).
using SetContentsFn = void (*)(leveldb::WriteBatch*, const leveldb::Slice&);
SetContentsFn g_setContents = nullptr;

napi_value BindBatchContents(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "bindBatchContents(path)");
    return nullptr;
  }
  g_setContents = reinterpret_cast<SetContentsFn>(cairn::ClassicSymbol(
      env, argv[0], "_ZN7leveldb18WriteBatchInternal11SetContentsEPNS_10WriteBatchERKNS_5SliceE"));
  napi_get_boolean(env, g_setContents != nullptr, &result);
  return result;
}

// Batch contents with their records in key order (stable: records of one key keep their order,
// so the last one still wins). LevelDB inserts a batch's records into the memtable's skip list one
// by one; with the patched LevelDB (native/leveldb-build.cjs, memtable-splice) an insert that
// comes after the previous one in key order starts its search where that one ended, so a sorted
// batch costs a few comparisons of nearby, cached nodes per record instead of a walk from the top
// of a list of ~100k nodes (a cache miss per step). Returns the contents unchanged when they are
// already in order, have one record or more than kMaxSortedRecords, or do not parse (LevelDB then reports the corruption).
thread_local std::string tSorted;
// Larger batches are written as they come: the gain was measured on batches of about 1,200 records
// (ZADD -P 16: -12% shard CPU), while bench:large's ~16,000-record group commits (1000-pair HSETs,
// 16 in flight, into a 2 MB memtable) built 15% slower sorted in one A/B (n log n comparisons of
// keys with long shared prefixes, and a copy), within the noise in another.
constexpr uint32_t kMaxSortedRecords = 4096;
struct Record {
  const char* key;
  uint32_t keyLen;
  uint32_t at;   // offset of the record (its tag byte) in the contents
  uint32_t len;  // bytes of the whole record
};
thread_local std::vector<Record> tRecords;

bool ReadVarint32(const char*& p, const char* end, uint32_t& out) {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28 && p < end; shift += 7) {
    uint32_t b = static_cast<unsigned char>(*p++);
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      out = v;
      return true;
    }
  }
  return false;
}

leveldb::Slice SortedContents(const char* data, uint32_t length) {
  const leveldb::Slice unchanged(data, length);
  uint32_t count;
  std::memcpy(&count, data + 8, 4);  // little-endian, as LevelDB writes it (x86-64, arm64)
  if (count < 2 || count > kMaxSortedRecords) return unchanged;
  std::vector<Record>& recs = tRecords;
  recs.clear();
  const char* p = data + 12;
  const char* end = data + length;
  bool sorted = true;
  while (p < end) {
    const char* start = p;
    unsigned char tag = static_cast<unsigned char>(*p++);
    uint32_t klen, vlen;
    if (tag > 1 || !ReadVarint32(p, end, klen) || static_cast<size_t>(end - p) < klen) return unchanged;
    Record r{p, klen, static_cast<uint32_t>(start - data), 0};
    p += klen;
    if (tag == 1) {  // kTypeValue: a value follows
      if (!ReadVarint32(p, end, vlen) || static_cast<size_t>(end - p) < vlen) return unchanged;
      p += vlen;
    }
    r.len = static_cast<uint32_t>(p - start);
    if (sorted && !recs.empty()) {
      const Record& last = recs.back();
      int c = std::memcmp(last.key, r.key, std::min(last.keyLen, r.keyLen));
      if (c > 0 || (c == 0 && last.keyLen > r.keyLen)) sorted = false;
    }
    recs.push_back(r);
  }
  if (recs.size() != count || sorted) return unchanged;
  std::stable_sort(recs.begin(), recs.end(), [](const Record& a, const Record& b) {
    int c = std::memcmp(a.key, b.key, std::min(a.keyLen, b.keyLen));
    return c < 0 || (c == 0 && a.keyLen < b.keyLen);
  });
  std::string& out = tSorted;
  out.assign(data, 12);
  for (const Record& r : recs) out.append(data + r.at, r.len);
  if (recs.capacity() > (1u << 16)) std::vector<Record>().swap(recs);
  return leveldb::Slice(out);
}

// writeContentsSync(batch, contents, length, sync): the batch (a classic-level batch context,
// reused) takes `length` bytes of `contents` as its records and is written.
napi_value WriteContentsSync(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* ptr = argc < 4 ? nullptr : cairn::ExternalArg(env, argv[0], "expected a classic-level batch context");
  if (ptr == nullptr) return nullptr;
  void* data = nullptr;
  size_t size = 0;
  uint32_t length = 0;
  bool sync = false;
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &length) != napi_ok || length > size || length < 12) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "expected batch contents");
    return nullptr;
  }
  napi_get_value_bool(env, argv[3], &sync);
  if (g_setContents == nullptr) {
    napi_throw_error(env, "CAIRN_NATIVE_ARG", "bindBatchContents was not called");
    return nullptr;
  }
  // The batch belongs to classic-level's Batch object, alive even if its database closed:
  // WriteBatchNow refuses a closed database.
  ClassicBatch* batch = static_cast<ClassicBatch*>(ptr);
  g_setContents(batch->batch_, SortedContents(static_cast<const char*>(data), length));
  if (tSorted.capacity() > (8u << 20)) std::string().swap(tSorted);  // SetContents copied it
  WriteBatchNow(env, batch, sync);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  cairn::Export(env, exports, "writeSync", WriteSync);
  cairn::Export(env, exports, "bindBatchContents", BindBatchContents);
  cairn::Export(env, exports, "writeContentsSync", WriteContentsSync);
  cairn::RegisterScan(env, exports);
  cairn::RegisterMemory(env, exports);
  cairn::RegisterGet(env, exports);
  cairn::RegisterFdWrite(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
