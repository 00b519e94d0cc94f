// rdkafka_mock.h refuses to compile unless rdkafka.h comes first.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>

// Names the calling thread as `top -H`, perf and gdb show it (Linux keeps 15 bytes).
// Swift's Glibc module hides pthread_setname_np (it needs _GNU_SOURCE), and Foundation's
// Thread.name does not reach the OS on Linux, hence this shim.
#if defined(__APPLE__)
static inline int swift_kafka_name_current_thread(const char *name) {
    return pthread_setname_np(name);
}
#else
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline int swift_kafka_name_current_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
#endif
