"""Limits on what people can send, and on what one answer can store and send on their behalf."""

MAX_COMMENT_LENGTH = 2000

#: A follow-up keeps its answer's latest comments: at most this many, and at most this many bytes of
#: comment text (UTF-8). Every comment is counted (``comment_count``); the response keeps the latest.
FOLLOW_UP_COMMENTS_KEPT = 20
FOLLOW_UP_COMMENT_BYTES_KEPT = 32 * 1024

#: The team's task queue gets at most one comment update per follow-up per this many seconds
#: (SQS delays a message at most 900 s).
COMMENT_UPDATE_WINDOW_SECONDS = 300

#: Comments one answer takes (each replaces the last on the response and is counted on its follow-up);
#: beyond, the person is told politely that we have their comments (HTTP 429).
MAX_COMMENTS_PER_RESPONSE = 50
