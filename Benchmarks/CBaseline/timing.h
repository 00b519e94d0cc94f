#ifndef CBASELINE_TIMING_H
#define CBASELINE_TIMING_H

#include <time.h>

/// Monotonic seconds, for timing the measured part of a baseline.
static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
