{
  "targets": [
    {
      "target_name": "cairn_native",
      "sources": ["sync_write.cc", "sync_scan.cc", "memory.cc", "sync_get.cc", "fd_write.cc"],
      "include_dirs": ["../node_modules/classic-level/deps/leveldb/leveldb-1.20/include"],
      "cflags_cc": ["-O2", "-std=c++17", "-fno-exceptions"],
      "libraries": ["-ldl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
