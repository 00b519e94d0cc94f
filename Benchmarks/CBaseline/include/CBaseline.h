#ifndef CBASELINE_H
#define CBASELINE_H

#include <stddef.h>
#include <stdint.h>

/// Outcome of a baseline run.
typedef struct {
    long long records;        ///< records piped, or operations done
    long long failures;       ///< delivery failures or missing keys
    double seconds;           ///< wall-clock time of the measured part
} cbaseline_result;

/// Consumes `expected` records from all `partitions` partitions of `in_topic` (manual
/// assignment from the beginning) and produces each to the same partition of `out_topic`,
/// then flushes; the producer batches for `linger_ms` and is idempotent when `idempotent`
/// is non-zero; the consumer's `queued.min.messages` is librdkafka's default when
/// `queued_min_messages` is NULL. Returns 0 on success, or -1 with a message in `error`.
int cbaseline_pipe(const char *bootstrap, const char *in_topic, int partitions, const char *out_topic,
                   long long expected, const char *linger_ms, int idempotent, const char *queued_min_messages,
                   cbaseline_result *result, char *error, size_t error_size);

/// Writes `records` keys (`key-%012d`, `value_size`-byte values) in batches of `batch_size`
/// into a new RocksDB at `path` (lz4, max 1000 open files), then reads `gets` keys chosen
/// by xorshift64 from `seed`. Returns 0 on success, or -1 with a message in `error`.
int cbaseline_rocksdb(const char *path, long long records, int batch_size, int value_size, long long gets,
                      uint64_t seed, cbaseline_result *puts, cbaseline_result *reads, char *error, size_t error_size);

#endif
