"""The HTTP collector: events from pages and apps over HTTPS, published to the stage's SNS topic."""
