"""Events: the public event contract and how events reach the bus.

Owns the pydantic models of stored responses and event details (:mod:`~nps.events.models`), their JSON
Schemas (:mod:`~nps.events.schemas`), the publisher (:mod:`~nps.events.publisher`, PutEvents in chunks of 10)
and the EventBridge patterns of the platform's own rules (:mod:`~nps.events.patterns`).

Interface for other capabilities: ``models``, ``publisher``, ``patterns``. ``schemas`` is for the
contract's tooling and tests. May import: the kernel.
"""
