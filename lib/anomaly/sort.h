/*
 * A stable merge sort with the interface of qsort, for the anomaly library.
 *
 * Stability is part of the detector's contract (equal residuals keep their
 * order, which decides which index is removed first), and the library must
 * run where there is no C library: the caller provides the scratch space.
 */
#ifndef SLUICE_ANOMALY_SORT_H
#define SLUICE_ANOMALY_SORT_H

#include <stddef.h>

/* Sorts count elements of size bytes at base in the order of compare
   (negative, 0, positive as for qsort); equal elements keep their order.
   scratch: room for count elements. */
void merge_sort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *),
                void *scratch);

/* Ascending order of floats, for merge_sort (the values must not be NaN). */
int compare_floats(const void *a, const void *b);

#endif
