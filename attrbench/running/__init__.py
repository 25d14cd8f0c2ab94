"""Running a benchmark: plans, chunks, executors, the results store, fits, timing."""
