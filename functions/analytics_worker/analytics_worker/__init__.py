"""analytics_worker: parse, validate and store batches of analytics events. Knows nothing of Lambda."""
