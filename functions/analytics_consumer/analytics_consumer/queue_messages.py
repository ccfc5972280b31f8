"""Delete or release received SQS messages, 10 per call, checking every entry."""
import time

from botocore.exceptions import BotoCoreError, ClientError

SQS_BATCH_LIMIT = 10
DELETE_ATTEMPTS = 3


def chunks(items, size=SQS_BATCH_LIMIT):
    """The items in lists of at most `size` (SQS takes 10 entries per batch call)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def delete_messages(sqs, queue_url: str, messages: list[dict], attempts: int = DELETE_ATTEMPTS, sleep=time.sleep):
    """Delete the messages; retry entries that failed. Return (deleted, not deleted, last error text)."""
    deleted = 0
    failed = 0
    last_error = None
    for chunk in chunks(messages):
        pending = {str(index): message["ReceiptHandle"] for index, message in enumerate(chunk)}
        for attempt in range(1, attempts + 1):
            entries = [{"Id": entry_id, "ReceiptHandle": handle} for entry_id, handle in pending.items()]
            try:
                response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                last_error = f"{type(error).__name__}: {error}"
            else:
                for entry in response.get("Successful", []):
                    if pending.pop(entry["Id"], None) is not None:
                        deleted += 1
                for entry in response.get("Failed", []):
                    last_error = f"{entry.get('Code')}: {entry.get('Message')}"
            if not pending:
                break
            if attempt < attempts:
                sleep(0.1 * attempt)
        failed += len(pending)
    return deleted, failed, last_error


def release_messages(sqs, queue_url: str, messages: list[dict]) -> int:
    """Make received messages visible again at once (best effort); return how many were released."""
    released = 0
    for chunk in chunks(messages):
        entries = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
            for index, message in enumerate(chunk)
        ]
        try:
            response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError):
            continue  # they come back after the visibility timeout anyway
        released += len(response.get("Successful", []))
    return released
