// Batched puts then random gets written directly against RocksDB's C API: the baseline
// for the Swift RocksDB wrapper (see Benchmarks/StreamsBench/RocksDBBenchmark.swift,
// which generates the same keys, values and read order).
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CBaseline.h"
#include "timing.h"

static uint64_t xorshift64(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/// "key-" followed by the index as 12 zero-padded decimal digits (16 bytes).
static void format_key(char key[16], long long index) {
    memcpy(key, "key-", 4);
    for (int digit = 15; digit >= 4; digit--) {
        key[digit] = (char)('0' + index % 10);
        index /= 10;
    }
}

static int fail(char *error, size_t error_size, char *message) {
    snprintf(error, error_size, "%s", message);
    rocksdb_free(message);
    return -1;
}

int cbaseline_rocksdb(const char *path, long long records, int batch_size, int value_size, long long gets,
                      uint64_t seed, cbaseline_result *puts, cbaseline_result *reads, char *error, size_t error_size) {
    char *err = NULL;
    rocksdb_options_t *options = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(options, 1);
    rocksdb_options_set_max_open_files(options, 1000);
    rocksdb_options_set_compression(options, rocksdb_lz4_compression);
    rocksdb_block_based_table_options_t *table = rocksdb_block_based_options_create();
    rocksdb_options_set_block_based_table_factory(options, table);
    rocksdb_t *db = rocksdb_open(options, path, &err);
    rocksdb_options_destroy(options);
    rocksdb_block_based_options_destroy(table);
    if (err) return fail(error, error_size, err);

    rocksdb_writeoptions_t *write_options = rocksdb_writeoptions_create();
    rocksdb_readoptions_t *read_options = rocksdb_readoptions_create();
    char key[16];
    char *value = malloc((size_t)value_size);
    uint64_t fill = seed;
    for (int i = 0; i < value_size; i++) value[i] = (char)(xorshift64(&fill) & 0x7f);

    double start = now_seconds();
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    for (long long index = 0; index < records; index++) {
        format_key(key, index);
        value[0] = (char)index;  // values differ, as in the Swift run
        rocksdb_writebatch_put(batch, key, sizeof key, value, (size_t)value_size);
        if (rocksdb_writebatch_count(batch) == batch_size || index == records - 1) {
            rocksdb_write(db, write_options, batch, &err);
            if (err) return fail(error, error_size, err);
            rocksdb_writebatch_clear(batch);
        }
    }
    puts->seconds = now_seconds() - start;
    puts->records = records;
    puts->failures = 0;
    rocksdb_writebatch_destroy(batch);

    uint64_t state = seed;
    long long missing = 0;
    start = now_seconds();
    for (long long i = 0; i < gets; i++) {
        format_key(key, (long long)(xorshift64(&state) % (uint64_t)records));
        size_t length = 0;
        char *found = rocksdb_get(db, read_options, key, sizeof key, &length, &err);
        if (err) return fail(error, error_size, err);
        if (!found || length != (size_t)value_size) missing++;
        rocksdb_free(found);
    }
    reads->seconds = now_seconds() - start;
    reads->records = gets;
    reads->failures = missing;

    free(value);
    rocksdb_writeoptions_destroy(write_options);
    rocksdb_readoptions_destroy(read_options);
    rocksdb_close(db);
    return 0;
}
