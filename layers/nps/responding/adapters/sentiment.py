"""Comment sentiment's adapters: the response's comment and its analysis (responses table), and Comprehend.

The analysis is written beside the comment with one conditional ``UpdateItem`` that touches no
``version``, score, comment or theme, so the stream record it causes moves no aggregate and publishes
no event (``nps.scoring.stream.parse_record``). Attributes written (docs/comment-sentiment.md):
``sentiment`` (``positive``/``negative``/``neutral``/``mixed``), ``sentiment_scores`` (label → number 0-1),
``key_phrases`` (list of ``{text, score}``), ``sentiment_language``, ``sentiment_truncated``,
``sentiment_digest`` (which comment they belong to), or instead ``sentiment_skipped`` (why not).
"""

from __future__ import annotations

from typing import Any

from nps.kernel import aws
from nps.reasons.sentiment import CommentToAnalyse, Detection, SentimentAnalysis

#: Attributes of an analysis; a skip removes them, an analysis removes ``sentiment_skipped``.
_ANALYSIS_ATTRIBUTES = ("sentiment", "sentiment_scores", "key_phrases", "sentiment_language", "sentiment_truncated")
_CONDITION = "#comment = :comment AND (attribute_not_exists(#counted) OR #counted = :true)"


class DynamoCommentStore:
    """The responses table as :class:`nps.reasons.sentiment.CommentStore` (GetItem and UpdateItem only)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def current(self, invite_id: str) -> CommentToAnalyse | None:
        """The response's comment, locale, counted flag and analysed digest (consistent read), or None."""
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite_id}},
                ConsistentRead=True,
                ProjectionExpression="#comment, #locale, #counted, #digest",
                ExpressionAttributeNames={
                    "#comment": "comment",
                    "#locale": "locale",
                    "#counted": "counted",
                    "#digest": "sentiment_digest",
                },
            )
            .get("Item")
        )
        if not item:
            return None
        return CommentToAnalyse(
            comment=item.get("comment", {}).get("S"),
            locale=item.get("locale", {}).get("S"),
            counted=item.get("counted", {}).get("BOOL") is not False,
            analysed_digest=item.get("sentiment_digest", {}).get("S"),
        )

    def store_analysis(self, invite_id: str, comment: str, analysis: SentimentAnalysis) -> bool:
        """Write ``analysis`` while the response still counts and still has ``comment``; False otherwise."""
        return self._update(
            invite_id,
            comment,
            sets={
                "sentiment": {"S": analysis.label},
                "sentiment_scores": {"M": {label: {"N": str(score)} for label, score in analysis.scores.items()}},
                "key_phrases": {
                    "L": [{"M": {"text": {"S": p.text}, "score": {"N": str(p.score)}}} for p in analysis.key_phrases]
                },
                "sentiment_language": {"S": analysis.language},
                "sentiment_truncated": {"BOOL": analysis.truncated},
                "sentiment_digest": {"S": analysis.digest},
            },
            removes=("sentiment_skipped",),
        )

    def store_skipped(self, invite_id: str, comment: str, digest: str, reason: str) -> bool:
        """Record ``sentiment_skipped = reason`` for ``comment`` (and drop an older comment's analysis)."""
        return self._update(
            invite_id,
            comment,
            sets={"sentiment_skipped": {"S": reason}, "sentiment_digest": {"S": digest}},
            removes=_ANALYSIS_ATTRIBUTES,
        )

    def _update(self, invite_id: str, comment: str, sets: dict[str, Any], removes: tuple[str, ...]) -> bool:
        names = {f"#{name}": name for name in (*sets, *removes)} | {"#comment": "comment", "#counted": "counted"}
        values = {f":{name}": value for name, value in sets.items()} | {
            ":comment": {"S": comment},
            ":true": {"BOOL": True},
        }
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET "
            + ", ".join(f"#{name} = :{name}" for name in sets)
            + " REMOVE "
            + ", ".join(f"#{name}" for name in removes),
            ConditionExpression=_CONDITION,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


class ComprehendAnalyser:
    """Amazon Comprehend as :class:`nps.reasons.sentiment.TextAnalyser`: ``DetectSentiment`` then
    ``DetectKeyPhrases`` on the same text, through the kernel's client (standard retries: throttling and
    5xx are retried up to 5 attempts, then raised)."""

    def detect(self, text: str, language: str) -> Detection:
        client = aws.client("comprehend")
        sentiment = client.detect_sentiment(Text=text, LanguageCode=language)
        phrases = client.detect_key_phrases(Text=text, LanguageCode=language)
        return Detection(
            label=str(sentiment["Sentiment"]),
            scores={str(k): float(v) for k, v in (sentiment.get("SentimentScore") or {}).items()},
            phrases=tuple(
                (str(p.get("Text") or ""), float(p.get("Score") or 0.0)) for p in phrases.get("KeyPhrases") or []
            ),
        )
