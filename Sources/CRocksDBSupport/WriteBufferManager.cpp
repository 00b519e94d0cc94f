// RocksDB 7.8's C API has no WriteBufferManager. The C API wraps its C++ objects in
// one-member structs (see db/c.cc); declaring the same structs here lets us reach the
// wrapped Options and Cache. Both layouts have been stable across RocksDB releases.
#include <memory>
#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/write_buffer_manager.h>

#include "CRocksDBSupport.h"

struct rocksdb_options_t {
    rocksdb::Options rep;
};
struct rocksdb_cache_t {
    std::shared_ptr<rocksdb::Cache> rep;
};

using ManagerHandle = std::shared_ptr<rocksdb::WriteBufferManager>;

extern "C" void *skr_write_buffer_manager_create(size_t buffer_size, void *cache) {
    std::shared_ptr<rocksdb::Cache> shared_cache;
    if (cache != nullptr) {
        shared_cache = static_cast<rocksdb_cache_t *>(cache)->rep;
    }
    return new ManagerHandle(std::make_shared<rocksdb::WriteBufferManager>(buffer_size, shared_cache));
}

extern "C" void skr_write_buffer_manager_destroy(void *manager) {
    delete static_cast<ManagerHandle *>(manager);
}

extern "C" void skr_options_set_write_buffer_manager(void *options, void *manager) {
    static_cast<rocksdb_options_t *>(options)->rep.write_buffer_manager = *static_cast<ManagerHandle *>(manager);
}

extern "C" size_t skr_write_buffer_manager_memory_usage(void *manager) {
    return (*static_cast<ManagerHandle *>(manager))->memory_usage();
}
