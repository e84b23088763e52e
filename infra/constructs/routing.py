"""Routing: the custom event bus and the rule sending detractors to the follow-up queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.queues import encrypted_queue
from nps.routing import DETRACTOR_FOLLOW_UP


class Routing(Construct):
    def __init__(self, scope: Construct, construct_id: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="NPS events (source: nps)", kms_key=key)
        self.bus.archive(
            "Archive",
            event_pattern=events.EventPattern(source=["nps"]),
            retention=Duration.days(365),
            description="Every NPS event, for replay",
        )
        self.dead_letters = encrypted_queue(
            self, "RoutingDeadLetters", key, dead_letter_role="events the bus could not deliver to a target"
        )
        self.follow_up_dead_letters = encrypted_queue(self, "FollowUpDeadLetters", key)
        self.follow_up_queue = encrypted_queue(
            self, "DetractorFollowUp", key, dead_letter_queue=self.follow_up_dead_letters
        )
        self.detractor_rule = events.Rule(
            self,
            "DetractorRule",
            event_bus=self.bus,
            description="Detractor responses → follow-up queue",
            event_pattern=events.EventPattern(
                source=DETRACTOR_FOLLOW_UP["source"],
                detail_type=DETRACTOR_FOLLOW_UP["detail-type"],
                detail=DETRACTOR_FOLLOW_UP["detail"],
            ),
            targets=[
                targets.SqsQueue(
                    self.follow_up_queue,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
