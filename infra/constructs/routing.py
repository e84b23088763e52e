"""Routing: the custom event bus, its archive, and the follow-up events queue with its rules.

The rules that start the follow-up workflows live with the workflows (``infra/constructs/follow_ups.py``);
every pattern comes from :mod:`nps.events.patterns`, shared with the local environment.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.queues import encrypted_queue, queue_target
from nps.events.patterns import FOLLOW_UP_EVENTS

#: Days the bus archive keeps events (for replays): the same 35 days as point-in-time recovery.
ARCHIVE_RETENTION_DAYS = 35


class Routing(Construct):
    def __init__(self, scope: Construct, construct_id: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="NPS events (source: nps)", kms_key=key)
        self.bus.archive(
            "Archive",
            event_pattern=events.EventPattern(source=["nps"]),
            # The archive cannot be erased in place: an erased contact's events (ids, no address) age out
            # after this many days, like the tables' point-in-time backups (docs/privacy.md).
            retention=Duration.days(ARCHIVE_RETENTION_DAYS),
            description="Every NPS event, for replay",
        )
        self.dead_letters = encrypted_queue(
            self, "RoutingDeadLetters", key, dead_letter_role="events the bus could not deliver to a target"
        )
        # Detractor comments, retractions and re-survey answers: the follow-up function consumes this queue,
        # rejects events that break the contract straight into its DLQ, and retries the rest.
        self.follow_up_events_dead_letters = encrypted_queue(self, "FollowUpEventsDeadLetters", key)
        self.follow_up_events = encrypted_queue(
            self,
            "FollowUpEvents",
            key,
            dead_letter_queue=self.follow_up_events_dead_letters,
            visibility_timeout=Duration.seconds(180),
        )
        for name, pattern in FOLLOW_UP_EVENTS.items():
            pattern_rule(
                self,
                f"{name}Rule",
                self.bus,
                pattern,
                description=f"{name} → follow-up events queue",
                targets=[queue_target(self.follow_up_events, self.dead_letters)],
            )


def pattern_rule(
    scope: Construct,
    construct_id: str,
    bus: events.IEventBus,
    pattern: dict[str, Any],
    *,
    description: str,
    targets: list[events.IRuleTarget],
) -> events.Rule:
    """A rule on ``bus`` with one of :mod:`nps.events.patterns`'s patterns (the JSON the local environment uses)."""
    return events.Rule(
        scope,
        construct_id,
        event_bus=bus,
        description=description,
        event_pattern=events.EventPattern(
            source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern.get("detail")
        ),
        targets=targets,
    )
