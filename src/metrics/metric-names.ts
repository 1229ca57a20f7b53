/** Names of the relay's own Prometheus series (docs, dashboards and alerts rely on them). */
export const METRICS = {
  messagesReceived: 'relay_messages_received_total',
  messagesDelivered: 'relay_messages_delivered_total',
  messageLatency: 'relay_message_latency_seconds',
  wsConnectionsActive: 'relay_websocket_connections_active',
  pollWaitersActive: 'relay_poll_waiters_active',
  storageOperations: 'relay_storage_operations_total',
  storageUp: 'relay_storage_up',
  errors: 'relay_errors_total',
  httpRequests: 'http_requests_total',
  httpDuration: 'http_request_duration_seconds',
} as const;
