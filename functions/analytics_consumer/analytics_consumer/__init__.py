"""analytics_consumer: drain the analytics queue into the worker in large batches. Knows nothing of Lambda."""
