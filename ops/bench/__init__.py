"""`inv bench`: how fast the worker stores, how few API calls the consumer makes, how big and quick to import the zips are.

Every figure is measured in one run, as a ratio to a baseline measured in the
same round (the machines are noisy), and the median of several rounds is kept.
"""
