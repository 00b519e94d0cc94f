#ifndef CROCKSDB_SUPPORT_H
#define CROCKSDB_SUPPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Creates a write-buffer manager limiting the memtables of every database that uses it
/// to `buffer_size` bytes in total, charged against `cache` (a rocksdb_cache_t*) when non-null.
void *skr_write_buffer_manager_create(size_t buffer_size, void *cache);

/// Releases a manager made by skr_write_buffer_manager_create. Databases that still use it
/// keep it alive (it is reference counted).
void skr_write_buffer_manager_destroy(void *manager);

/// Makes databases opened with `options` (a rocksdb_options_t*) share `manager`.
void skr_options_set_write_buffer_manager(void *options, void *manager);

/// Bytes currently held by memtables under `manager`.
size_t skr_write_buffer_manager_memory_usage(void *manager);

#ifdef __cplusplus
}
#endif

#endif
