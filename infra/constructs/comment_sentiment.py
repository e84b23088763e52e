"""Comment sentiment (optional, ``-c commentSentiment=true``): every ``NPS Comment Received`` → Comprehend.

A rule puts each comment event on an encrypted queue; the ``comment_sentiment`` function reads the
comment from the responses table, calls Comprehend's ``DetectSentiment`` and ``DetectKeyPhrases`` once
and stores the result on the response. Failures are retried per message (partial batch failures) and,
after :data:`MAX_RECEIVES` receives, parked in an alarmed DLQ. Without the flag none of this exists.
docs/comment-sentiment.md.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs.functions import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.queues import consumer_queues, queue_target
from infra.constructs.routing import Routing, pattern_rule
from infra.constructs.storage import grant_items
from nps.events.patterns import COMMENT_SENTIMENT

#: Receives of one message before it is parked in the DLQ (each receive is a Lambda invocation whose
#: Comprehend client already retried throttling 5 times).
MAX_RECEIVES = 5
FUNCTION_TIMEOUT = Duration.seconds(30)
#: At most this many instances at once: two Comprehend calls each, far below its default request rates,
#: so a burst of comments is paced by the queue instead of throttled.
MAX_CONCURRENCY = 2


class CommentSentiment(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        responses: dynamodb.ITable,
        routing: Routing,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue, self.dead_letters = consumer_queues(
            self, "Comments", "DeadLetters", platform.key, function_timeout=FUNCTION_TIMEOUT, max_receives=MAX_RECEIVES
        )
        pattern_rule(
            self,
            "CommentRule",
            routing.bus,
            COMMENT_SENTIMENT,
            description="NPS Comment Received → comment sentiment queue",
            targets=[queue_target(self.queue, routing.dead_letters)],
        )
        self.function = platform.function(
            self,
            "Analyse",
            name="comment_sentiment",
            timeout=FUNCTION_TIMEOUT,
            description="NPS Comment Received → sentiment and key phrases on the response (Comprehend)",
            environment={"RESPONSES_TABLE": responses.table_name},
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue, batch_size=10, report_batch_item_failures=True, max_concurrency=MAX_CONCURRENCY
            )
        )
        # Read the comment, write its analysis: nothing else on the table, no other table.
        grant_items(responses, self.function, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # Comprehend's detect actions have no resource type: IAM requires Resource "*" for them (Service
        # Authorization Reference, "Actions defined by Amazon Comprehend": DetectSentiment and
        # DetectKeyPhrases list no resource types).
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["comprehend:DetectSentiment", "comprehend:DetectKeyPhrases"], resources=["*"])
        )
        acknowledge(
            self.function,
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "comprehend:DetectSentiment and comprehend:DetectKeyPhrases support no resource-level "
                    "permissions (Service Authorization Reference for Amazon Comprehend); no table, queue or "
                    "key is on *."
                ),
            },
        )
