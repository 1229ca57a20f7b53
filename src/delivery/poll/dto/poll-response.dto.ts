export class PollItemDto {
  type!: 'message';
  topic!: string;
  message_id!: string;
  payload!: Record<string, unknown>;
  /** ISO-8601 UTC with `Z`. */
  timestamp!: string;
  metadata!: Record<string, string>;
  /** Same as `message_id` (kept for upstream clients). */
  stream_id!: string;
}

export class PollResponseDto {
  /** Grouped by topic in request order, oldest first within a topic. */
  messages!: PollItemDto[];
  /** True when a topic had more than one page pending: poll again with `since`. */
  has_more!: boolean;
}

export class PollStatsDto {
  /** The caller's own waiting polls on this instance (all of them for an admin). */
  active_waiters!: number;
  subscribed_topics!: number;
  /** Waiting polls per topic. */
  topic_subscriber_counts!: Record<string, number>;
}
