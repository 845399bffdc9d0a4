// Element-wise work split over threads: [0, n) in contiguous ranges, one on the calling thread, the others on pthreads.
// Each element is computed exactly as in a serial loop, so the bytes out do not depend on the split.
#ifndef SAEC_PARALLEL_H
#define SAEC_PARALLEL_H

#include <stddef.h>

typedef void (*saec_range_fn)(void *context, size_t begin, size_t end);

// Runs fn(context, begin, end) over ranges covering [0, n), on up to `threads` threads, each range at least
// `min_range` long; serially when that leaves one range or a thread cannot start.
void saec_parallel_ranges(size_t n, size_t min_range, int threads, saec_range_fn fn, void *context);

#endif
