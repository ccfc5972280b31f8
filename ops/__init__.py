"""The work behind the `inv` tasks, kept out of tasks.py so each piece is small and testable."""
