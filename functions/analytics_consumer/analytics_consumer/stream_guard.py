"""Stream mode's guard: the SQS event source mapping is paused while the worker cannot store.

In stream mode Lambda's own poller feeds the worker, and during a database outage it goes on
receiving: each failed batch spends one receive of each of its messages, and after the queue's
maxReceiveCount receives SQS moves a message to the DLQ. The guard runs on a schedule (the consumer,
outside the VPC, every minute): it probes the worker as a drain run does (an empty batch) and
disables the mapping while the probe fails, so messages wait in the queue without being received;
it enables the mapping again once the probe passes. An outage then spends only the receives of the
batches that failed before the guard's next run: one per message while the guard's period plus a
probe is shorter than the queue's visibility timeout (Terraform checks that).
"""
from analytics_consumer.log import log
from analytics_consumer.worker_invoke import probe_worker

# Lambda's states of a mapping (GetEventSourceMapping's State) that the guard acts on.
DISABLED = "Disabled"
PAUSED_OR_PAUSING = frozenset({DISABLED, "Disabling"})

PAUSED, RESUMED, UNCHANGED, BUSY = "paused", "resumed", "unchanged", "busy"


class MappingBusy(RuntimeError):
    """The mapping is changing state (Lambda refused the update); the guard's next run tries again."""


class EventSourceMapping:
    """The on/off switch of one event source mapping, over Lambda's API."""

    def __init__(self, lambda_client, uuid: str):
        self.client, self.uuid = lambda_client, uuid

    def state(self) -> str:
        return self.client.get_event_source_mapping(UUID=self.uuid)["State"]

    def set_enabled(self, enabled: bool) -> str:
        try:
            return self.client.update_event_source_mapping(UUID=self.uuid, Enabled=enabled)["State"]
        except self.client.exceptions.ResourceInUseException as error:
            raise MappingBusy(str(error)) from error


def guard_stream(invoke, mapping, log=log) -> dict:
    """Probe the worker through `invoke` and pause or resume `mapping` to match; returns what it saw and did.

    `mapping` has `state() -> str` and `set_enabled(bool) -> str` (EventSourceMapping, or the local
    stack's stand-in). A mapping already in the wanted state is left alone.
    """
    error = probe_worker(invoke)
    state = mapping.state()
    pause = error is not None and state not in PAUSED_OR_PAUSING
    resume = error is None and state == DISABLED
    action = UNCHANGED
    if pause or resume:
        try:
            state = mapping.set_enabled(resume)
            action = RESUMED if resume else PAUSED
        except MappingBusy as busy:
            action = BUSY
            log("WARNING", "the event source mapping is changing state; the next guard run tries again",
                mapping_state=state, wanted="enabled" if resume else "disabled", error=str(busy)[:300])
    if action == PAUSED:
        log("ERROR", "the worker cannot store (database or worker down): stream paused, messages wait in the "
            "queue until a probe passes", mapping_state=state, error=error)
    elif action == RESUMED:
        log("INFO", "the worker stores again: stream resumed", mapping_state=state)
    return {"worker_can_store": error is None, "action": action, "mapping_state": state, "error": error}
