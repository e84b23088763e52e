"""Limits on what people can send."""

MAX_COMMENT_LENGTH = 2000
