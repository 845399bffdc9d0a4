// saec_parallel_ranges: see parallel.h.
#define _POSIX_C_SOURCE 200809L
#include "parallel.h"

#include <pthread.h>

#define SAEC_MAX_THREADS 64

typedef struct {
  saec_range_fn fn;
  void *context;
  size_t begin, end;
} range_job;

static void *run_range(void *argument) {
  range_job *job = argument;
  job->fn(job->context, job->begin, job->end);
  return NULL;
}

void saec_parallel_ranges(size_t n, size_t min_range, int threads, saec_range_fn fn, void *context) {
  size_t count = threads < 1 ? 1 : (size_t)threads;
  if (count > SAEC_MAX_THREADS) count = SAEC_MAX_THREADS;
  if (min_range < 1) min_range = 1;
  if (count > n / min_range) count = n / min_range;
  if (count <= 1) {
    fn(context, 0, n);
    return;
  }
  range_job jobs[SAEC_MAX_THREADS];
  pthread_t workers[SAEC_MAX_THREADS];
  int started[SAEC_MAX_THREADS] = {0};
  const size_t step = (n + count - 1) / count;
  for (size_t i = 0; i < count; i++) {
    const size_t begin = i * step;
    jobs[i] = (range_job){fn, context, begin, begin + step < n ? begin + step : n};
  }
  for (size_t i = 1; i < count; i++) started[i] = pthread_create(&workers[i], NULL, run_range, &jobs[i]) == 0;
  run_range(&jobs[0]);
  for (size_t i = 1; i < count; i++) {
    if (started[i]) {
      pthread_join(workers[i], NULL);
    } else {
      run_range(&jobs[i]);  // no thread: this range runs here
    }
  }
}
