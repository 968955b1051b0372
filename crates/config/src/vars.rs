//! The table of every setting: its environment name (as upstream Outpost), its YAML path, its
//! default, whether it is a secret (masked when printed) and a one-line description. Loading,
//! printing and the operator reference all read this one table.

/// One configuration variable.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// Environment variable name.
    pub env: &'static str,
    /// Dotted path in the YAML file.
    pub yaml: &'static str,
    /// Default value, if any.
    pub default: Option<&'static str>,
    /// Masked when printed.
    pub secret: bool,
    /// What it does.
    pub doc: &'static str,
}

macro_rules! vars {
    ($( $env:literal, $yaml:literal, $default:expr, $secret:literal, $doc:literal; )*) => {
        /// Every known variable, in documentation order.
        pub const VARS: &[Var] = &[ $( Var { env: $env, yaml: $yaml, default: $default, secret: $secret, doc: $doc }, )* ];
    };
}

vars! {
    "SERVICE", "service", Some(""), false, "Services to run: api, delivery, log, or empty for all in one process.";
    "LOG_LEVEL", "log_level", Some("info"), false, "Log level: debug, info, warn, error.";
    "API_PORT", "api_port", Some("3333"), false, "HTTP port of every service (health; the API in api mode).";
    "API_KEY", "api_key", None, true, "Admin API key. Empty disables authentication (VPC mode).";
    "API_JWT_SECRET", "api_jwt_secret", None, true, "Secret signing tenant JWTs (HS256).";
    "GIN_MODE", "gin_mode", Some("release"), false, "Accepted for compatibility; has no effect.";
    "DEPLOYMENT_ID", "deployment_id", None, false, "Prefix isolating this deployment's Redis keys.";
    "AES_ENCRYPTION_SECRET", "aes_encryption_secret", None, true, "Secret from which the key encrypting stored credentials is derived.";
    "TOPICS", "topics", None, false, "Comma-separated list of allowed topics; empty allows any topic.";
    "TOPICS_ALLOW_WILDCARDS", "topics_allow_wildcards", Some("false"), false, "Allow destinations to subscribe with * patterns.";
    "HTTP_USER_AGENT", "http_user_agent", None, false, "User-Agent of outgoing HTTP deliveries (default Outpost/<version>).";
    "REDIS_HOST", "redis.host", Some("127.0.0.1"), false, "Redis host. When no REDIS_* setting is given, in-memory stores are used.";
    "REDIS_PORT", "redis.port", Some("6379"), false, "Redis port.";
    "REDIS_USERNAME", "redis.username", None, false, "Redis username.";
    "REDIS_PASSWORD", "redis.password", None, true, "Redis password.";
    "REDIS_DATABASE", "redis.database", Some("0"), false, "Redis database number.";
    "REDIS_TLS_ENABLED", "redis.tls_enabled", Some("false"), false, "Connect to Redis over TLS.";
    "REDIS_CLUSTER_ENABLED", "redis.cluster_enabled", Some("false"), false, "Redis Cluster mode.";
    "REDIS_DEV_CLUSTER_HOST_OVERRIDE", "redis.dev_cluster_host_override", Some("false"), false, "Development aid for local clusters.";
    "POSTGRES_URL", "postgres", None, true, "PostgreSQL URL of the event and attempt log.";
    "CLICKHOUSE_ADDR", "clickhouse.addr", None, false, "ClickHouse address (alternative log store).";
    "CLICKHOUSE_USERNAME", "clickhouse.username", None, false, "ClickHouse user.";
    "CLICKHOUSE_PASSWORD", "clickhouse.password", None, true, "ClickHouse password.";
    "CLICKHOUSE_DATABASE", "clickhouse.database", Some("outpost"), false, "ClickHouse database.";
    "CLICKHOUSE_TLS_ENABLED", "clickhouse.tls_enabled", Some("false"), false, "ClickHouse over TLS.";
    "CLICKHOUSE_LOG_RETENTION_TTL_DAYS", "clickhouse_log_retention_ttl_days", Some("0"), false, "ClickHouse log retention in days (0 = forever).";
    "MQS_AUTO_PROVISION", "mqs.auto_provision", Some("true"), false, "Create internal queues at start.";
    "RABBITMQ_SERVER_URL", "mqs.rabbitmq.server_url", None, true, "RabbitMQ URL; selects RabbitMQ for the internal queues.";
    "RABBITMQ_EXCHANGE", "mqs.rabbitmq.exchange", Some("outpost"), false, "RabbitMQ exchange.";
    "RABBITMQ_DELIVERY_QUEUE", "mqs.rabbitmq.delivery_queue", Some("outpost-delivery"), false, "RabbitMQ delivery queue.";
    "RABBITMQ_LOG_QUEUE", "mqs.rabbitmq.log_queue", Some("outpost-log"), false, "RabbitMQ log queue.";
    "RABBITMQ_DELIVERY_DLQ", "mqs.rabbitmq.delivery_dlq", None, false, "RabbitMQ delivery dead-letter queue (default <queue>.dlq).";
    "RABBITMQ_LOG_DLQ", "mqs.rabbitmq.log_dlq", None, false, "RabbitMQ log dead-letter queue (default <queue>.dlq).";
    "AWS_SQS_REGION", "mqs.aws_sqs.region", None, false, "AWS region; selects SQS for the internal queues.";
    "AWS_SQS_ACCESS_KEY_ID", "mqs.aws_sqs.access_key_id", None, true, "SQS access key id.";
    "AWS_SQS_SECRET_ACCESS_KEY", "mqs.aws_sqs.secret_access_key", None, true, "SQS secret access key.";
    "AWS_SQS_ENDPOINT", "mqs.aws_sqs.endpoint", None, false, "SQS endpoint override.";
    "AWS_SQS_DELIVERY_QUEUE", "mqs.aws_sqs.delivery_queue", Some("outpost-delivery"), false, "SQS delivery queue.";
    "AWS_SQS_LOG_QUEUE", "mqs.aws_sqs.log_queue", Some("outpost-log"), false, "SQS log queue.";
    "AWS_SQS_DELIVERY_DLQ", "mqs.aws_sqs.delivery_dlq", None, false, "SQS delivery DLQ (default <queue>-dlq).";
    "AWS_SQS_LOG_DLQ", "mqs.aws_sqs.log_dlq", None, false, "SQS log DLQ (default <queue>-dlq).";
    "GCP_PUBSUB_PROJECT", "mqs.gcp_pubsub.project", None, false, "GCP project; selects Pub/Sub for the internal queues.";
    "GCP_PUBSUB_SERVICE_ACCOUNT_CREDENTIALS", "mqs.gcp_pubsub.service_account_credentials", None, true, "GCP service account JSON.";
    "GCP_PUBSUB_DELIVERY_TOPIC", "mqs.gcp_pubsub.delivery_topic", Some("outpost-delivery"), false, "Pub/Sub delivery topic.";
    "GCP_PUBSUB_DELIVERY_SUBSCRIPTION", "mqs.gcp_pubsub.delivery_subscription", Some("outpost-delivery-sub"), false, "Pub/Sub delivery subscription.";
    "GCP_PUBSUB_LOG_TOPIC", "mqs.gcp_pubsub.log_topic", Some("outpost-log"), false, "Pub/Sub log topic.";
    "GCP_PUBSUB_LOG_SUBSCRIPTION", "mqs.gcp_pubsub.log_subscription", Some("outpost-log-sub"), false, "Pub/Sub log subscription.";
    "GCP_PUBSUB_DELIVERY_DLQ_TOPIC", "mqs.gcp_pubsub.delivery_dlq_topic", None, false, "Pub/Sub delivery DLQ topic.";
    "GCP_PUBSUB_DELIVERY_DLQ_SUBSCRIPTION", "mqs.gcp_pubsub.delivery_dlq_subscription", None, false, "Pub/Sub delivery DLQ subscription.";
    "GCP_PUBSUB_LOG_DLQ_TOPIC", "mqs.gcp_pubsub.log_dlq_topic", None, false, "Pub/Sub log DLQ topic.";
    "GCP_PUBSUB_LOG_DLQ_SUBSCRIPTION", "mqs.gcp_pubsub.log_dlq_subscription", None, false, "Pub/Sub log DLQ subscription.";
    "PUBSUB_EMULATOR_HOST", "mqs.gcp_pubsub.emulator_host", None, false, "Pub/Sub emulator host:port (plain text, no authentication), for the internal and publish queues on Pub/Sub, as Google's clients read it.";
    "AZURE_SERVICEBUS_CONNECTION_STRING", "mqs.azure_servicebus.connection_string", None, true, "Service Bus connection string; selects Service Bus.";
    "AZURE_SERVICEBUS_TENANT_ID", "mqs.azure_servicebus.tenant_id", None, false, "Azure tenant id (service principal).";
    "AZURE_SERVICEBUS_CLIENT_ID", "mqs.azure_servicebus.client_id", None, false, "Azure client id.";
    "AZURE_SERVICEBUS_CLIENT_SECRET", "mqs.azure_servicebus.client_secret", None, true, "Azure client secret.";
    "AZURE_SERVICEBUS_SUBSCRIPTION_ID", "mqs.azure_servicebus.subscription_id", None, false, "Azure subscription id.";
    "AZURE_SERVICEBUS_RESOURCE_GROUP", "mqs.azure_servicebus.resource_group", None, false, "Azure resource group.";
    "AZURE_SERVICEBUS_NAMESPACE", "mqs.azure_servicebus.namespace", None, false, "Service Bus namespace.";
    "AZURE_SERVICEBUS_DELIVERY_TOPIC", "mqs.azure_servicebus.delivery_topic", Some("outpost-delivery"), false, "Service Bus delivery topic.";
    "AZURE_SERVICEBUS_DELIVERY_SUBSCRIPTION", "mqs.azure_servicebus.delivery_subscription", Some("outpost-delivery-sub"), false, "Service Bus delivery subscription.";
    "AZURE_SERVICEBUS_LOG_TOPIC", "mqs.azure_servicebus.log_topic", Some("outpost-log"), false, "Service Bus log topic.";
    "AZURE_SERVICEBUS_LOG_SUBSCRIPTION", "mqs.azure_servicebus.log_subscription", Some("outpost-log-sub"), false, "Service Bus log subscription.";
    "PUBLISH_AWS_SQS_REGION", "publishmq.aws_sqs.region", None, false, "Publish queue on SQS: region.";
    "PUBLISH_AWS_SQS_QUEUE", "publishmq.aws_sqs.queue", None, false, "Publish queue on SQS: queue name.";
    "PUBLISH_AWS_SQS_ACCESS_KEY_ID", "publishmq.aws_sqs.access_key_id", None, true, "Publish queue on SQS: access key id.";
    "PUBLISH_AWS_SQS_SECRET_ACCESS_KEY", "publishmq.aws_sqs.secret_access_key", None, true, "Publish queue on SQS: secret key.";
    "PUBLISH_AWS_SQS_ENDPOINT", "publishmq.aws_sqs.endpoint", None, false, "Publish queue on SQS: endpoint.";
    "PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING", "publishmq.azure_servicebus.connection_string", None, true, "Publish queue on Service Bus: connection string.";
    "PUBLISH_AZURE_SERVICEBUS_TOPIC", "publishmq.azure_servicebus.topic", None, false, "Publish queue on Service Bus: topic.";
    "PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION", "publishmq.azure_servicebus.subscription", None, false, "Publish queue on Service Bus: subscription.";
    "PUBLISH_GCP_PUBSUB_PROJECT", "publishmq.gcp_pubsub.project", None, false, "Publish queue on Pub/Sub: project.";
    "PUBLISH_GCP_PUBSUB_TOPIC", "publishmq.gcp_pubsub.topic", None, false, "Publish queue on Pub/Sub: topic.";
    "PUBLISH_GCP_PUBSUB_SUBSCRIPTION", "publishmq.gcp_pubsub.subscription", None, false, "Publish queue on Pub/Sub: subscription.";
    "PUBLISH_GCP_PUBSUB_SERVICE_ACCOUNT_CREDENTIALS", "publishmq.gcp_pubsub.service_account_credentials", None, true, "Publish queue on Pub/Sub: credentials.";
    "PUBLISH_RABBITMQ_SERVER_URL", "publishmq.rabbitmq.server_url", None, true, "Publish queue on RabbitMQ: URL.";
    "PUBLISH_RABBITMQ_EXCHANGE", "publishmq.rabbitmq.exchange", None, false, "Publish queue on RabbitMQ: exchange.";
    "PUBLISH_RABBITMQ_QUEUE", "publishmq.rabbitmq.queue", None, false, "Publish queue on RabbitMQ: queue.";
    "PUBLISH_MAX_CONCURRENCY", "publish_max_concurrency", Some("1"), false, "Concurrent publish-queue messages.";
    "DELIVERY_MAX_CONCURRENCY", "delivery_max_concurrency", Some("1"), false, "Concurrent deliveries per delivery-service process; a delivery still in flight after a second gives its slot to the next task and waits in a second pool of as many (ours).";
    "DELIVERY_SLOW_DESTINATION_CONCURRENCY", "delivery_slow_destination_concurrency", Some("0"), false, "Most concurrent deliveries to one destination whose deliveries take over a second; its further tasks are deferred so other destinations keep their slots (0 = an eighth of DELIVERY_MAX_CONCURRENCY, ours).";
    "DELIVERY_BUSY_TENANT_TASKS_PER_SECOND", "delivery_busy_tenant_tasks_per_second", None, false, "Delivery tasks per second past which a tenant's tasks go to a second delivery queue, the busy lane (<queue>.busy on RabbitMQ, <queue>-busy on SQS, <topic>-busy on Service Bus and Pub/Sub), which the delivery service serves after the main one, so quiet tenants never wait behind a busy tenant's backlog. Empty = 1000 with MQS_AUTO_PROVISION and in the embedded mode, off otherwise (then a set limit needs the lane's queue to exist); 0 = off (ours).";
    "DESTINATION_CACHE_TTL_SECONDS", "destination_cache_ttl_seconds", Some("60"), false, "Longest an api or delivery process reuses a destination (or a tenant's destination summaries, for routing publishes) read from Redis. Changes made through Outpost reach it at once over Redis pub/sub; the TTL bounds staleness from writers that do not announce changes (0 = read Redis for every delivery and publish, ours).";
    "LOG_MAX_CONCURRENCY", "log_max_concurrency", Some("1"), false, "Concurrent log batches.";
    "RETRY_SCHEDULE", "retry_schedule", None, false, "Comma-separated retry delays in seconds; overrides the exponential schedule.";
    "RETRY_INTERVAL_SECONDS", "retry_interval_seconds", Some("30"), false, "Base of the exponential retry schedule.";
    "MAX_RETRY_LIMIT", "retry_max_limit", Some("10"), false, "Automatic retries after the first attempt.";
    "RETRY_POLL_BACKOFF_MS", "retry_poll_backoff_ms", Some("0"), false, "Longest wait of the retry monitor between polls (0 = automatic).";
    "RETRY_VISIBILITY_TIMEOUT_SECONDS", "retry_visibility_timeout_seconds", Some("30"), false, "Visibility timeout of a received retry.";
    "MAX_DESTINATIONS_PER_TENANT", "max_destinations_per_tenant", Some("20"), false, "Most destinations a tenant may have.";
    "DELIVERY_TIMEOUT_SECONDS", "delivery_timeout_seconds", Some("5"), false, "Timeout of one delivery attempt.";
    "SHUTDOWN_GRACE_SECONDS", "shutdown_grace_seconds", Some("25"), false, "On SIGTERM, longest wait for in-flight deliveries and log batches; unsettled messages are then left to the broker to redeliver (keep it under the pod's terminationGracePeriodSeconds).";
    "SHUTDOWN_DELAY_SECONDS", "shutdown_delay_seconds", Some("0"), false, "On SIGTERM, seconds the HTTP server keeps serving with /readyz answering 503 before it stops accepting (lets a load balancer drop the pod first).";
    "PUBLISH_IDEMPOTENCY_KEY_TTL", "publish_idempotency_key_ttl", Some("3600"), false, "Seconds an event id is remembered for deduplication.";
    "DELIVERY_IDEMPOTENCY_KEY_TTL", "delivery_idempotency_key_ttl", Some("3600"), false, "Seconds a delivery attempt is remembered.";
    "LOG_BATCH_THRESHOLD_SECONDS", "log_batch_threshold_seconds", Some("10"), false, "Longest wait before a partial log batch is written.";
    "LOG_BATCH_SIZE", "log_batch_size", Some("1000"), false, "Log entries per batch.";
    "LOG_RETENTION_DAYS", "log_retention_days", Some("0"), false, "Days of events and attempts kept in Postgres; older daily partitions are dropped (0 = keep forever).";
    "LOG_GRPC_PORT", "log_grpc_port", Some("3334"), false, "Port of the log service's gRPC LogQuery server (SERVICE=log; the all-in-one process serves it only when this is set).";
    "LOG_GRPC_URL", "log_grpc_url", None, false, "URL of the log service's gRPC server, e.g. http://outpost-log:3334 (required with SERVICE=api).";
    "LOG_GRPC_TOKEN", "log_grpc_token", None, true, "Shared token callers must present to the LogQuery service (empty = none).";
    "DESTINATIONS_METADATA_PATH", "destinations.metadata_path", Some("config/outpost/destinations"), false, "Folder of per-type metadata overrides.";
    "DESTINATIONS_INCLUDE_MILLISECOND_TIMESTAMP", "destinations.include_millisecond_timestamp", Some("false"), false, "Add a timestamp-ms metadata key.";
    "DESTINATIONS_AWS_KINESIS_METADATA_IN_PAYLOAD", "destinations.aws_kinesis.metadata_in_payload", Some("true"), false, "Wrap Kinesis records as {metadata, data}.";
    "DESTINATIONS_HOOKDECK_API_URL", "destinations.hookdeck.api_url", Some("https://api.hookdeck.com"), false, "Hookdeck API base URL used to verify source tokens (ours; for tests and private deployments).";
    "DESTINATIONS_HOOKDECK_EVENTS_URL", "destinations.hookdeck.events_url", Some("https://hkdk.events"), false, "Hookdeck ingestion base URL deliveries are posted to (ours; for tests and private deployments).";
    "DESTINATIONS_QUEUE_SIGNING_SECRET", "destinations.queue_signing_secret", None, true, "When set, queue, stream and bucket deliveries carry signature, signature-timestamp and event-id metadata (HMAC-SHA256, ours; off by default).";
    "DESTINATIONS_WEBHOOK_MODE", "destinations.webhook.mode", Some("default"), false, "Webhook mode: default (Outpost) or standard (Standard Webhooks).";
    "DESTINATIONS_WEBHOOK_PROXY_URL", "destinations.webhook.proxy_url", None, true, "Forward proxy for webhook deliveries.";
    "DESTINATIONS_WEBHOOK_HEADER_PREFIX", "destinations.webhook.header_prefix", None, false, "Prefix of webhook headers (x-outpost- or webhook-).";
    "DESTINATIONS_WEBHOOK_EVENT_ID_HEADER_NAME", "destinations.webhook.event_id_header_name", None, false, "Pinned event id header name; empty omits it.";
    "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_NAME", "destinations.webhook.signature_header_name", None, false, "Pinned signature header name; empty omits it.";
    "DESTINATIONS_WEBHOOK_TIMESTAMP_HEADER_NAME", "destinations.webhook.timestamp_header_name", None, false, "Pinned timestamp header name; empty omits it.";
    "DESTINATIONS_WEBHOOK_TOPIC_HEADER_NAME", "destinations.webhook.topic_header_name", None, false, "Pinned topic header name; empty omits it.";
    "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_EVENT_ID_HEADER", "destinations.webhook.disable_default_event_id_header", Some("false"), false, "Deprecated: omit the event id header.";
    "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_SIGNATURE_HEADER", "destinations.webhook.disable_default_signature_header", Some("false"), false, "Deprecated: omit the signature header.";
    "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_TIMESTAMP_HEADER", "destinations.webhook.disable_default_timestamp_header", Some("false"), false, "Deprecated: omit the timestamp header.";
    "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_TOPIC_HEADER", "destinations.webhook.disable_default_topic_header", Some("false"), false, "Deprecated: omit the topic header.";
    "DESTINATIONS_WEBHOOK_SIGNATURE_CONTENT_TEMPLATE", "destinations.webhook.signature_content_template", Some("{{.Body}}"), false, "Template of the signed content.";
    "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_TEMPLATE", "destinations.webhook.signature_header_template", Some("v0={{.Signatures | join \",\"}}"), false, "Template of the signature header value.";
    "DESTINATIONS_WEBHOOK_SIGNATURE_ENCODING", "destinations.webhook.signature_encoding", Some("hex"), false, "Signature encoding: hex or base64.";
    "DESTINATIONS_WEBHOOK_SIGNATURE_ALGORITHM", "destinations.webhook.signature_algorithm", Some("hmac-sha256"), false, "Signature algorithm: hmac-sha256 or hmac-sha1.";
    "DESTINATIONS_WEBHOOK_SIGNING_SECRET_TEMPLATE", "destinations.webhook.signing_secret_template", Some("whsec_{{.RandomHex}}"), false, "Template of generated signing secrets.";
    "DESTINATIONS_WEBHOOK_SSRF_PROTECTION", "destinations.webhook.ssrf_protection", Some("true"), false, "Refuse webhook targets on loopback, private, link-local and metadata addresses (checked after DNS resolution).";
    "DESTINATIONS_WEBHOOK_ALLOWED_CIDRS", "destinations.webhook.allowed_cidrs", None, false, "Comma-separated address ranges exempt from the SSRF guard, e.g. 127.0.0.0/8,10.1.0.0/16.";
    "DESTINATIONS_WEBHOOK_MAX_RESPONSE_BODY_BYTES", "destinations.webhook.max_response_body_bytes", Some("131072"), false, "Largest response body stored (0 = unlimited).";
    "PORTAL_PROXY_URL", "portal.proxy_url", None, false, "Proxy non-API GET requests to this URL (portal development).";
    "PORTAL_REFERER_URL", "portal.referer_url", None, false, "Where the portal sends users back to.";
    "PORTAL_REFRESH_URL", "portal.refresh_url", None, false, "Where the portal sends users whose token expired.";
    "PORTAL_FAVICON_URL", "portal.favicon_url", None, false, "Portal favicon.";
    "PORTAL_BRAND_COLOR", "portal.brand_color", None, false, "Portal accent colour.";
    "PORTAL_LOGO", "portal.logo", None, false, "Portal logo URL.";
    "PORTAL_LOGO_DARK", "portal.logo_dark", None, false, "Portal logo URL for the dark theme.";
    "PORTAL_ORGANIZATION_NAME", "portal.org_name", None, false, "Organisation name shown in the portal.";
    "PORTAL_FORCE_THEME", "portal.force_theme", None, false, "Force the portal theme: light or dark.";
    "PORTAL_DISABLE_OUTPOST_BRANDING", "portal.disable_outpost_branding", Some("false"), false, "Hide 'Powered by Outpost'.";
    "PORTAL_ENABLE_DESTINATION_FILTER", "portal.enable_destination_filter", Some("false"), false, "Show the filter editor in the portal.";
    "PORTAL_ENABLE_WEBHOOK_CUSTOM_HEADERS", "portal.enable_webhook_custom_headers", Some("false"), false, "Show the custom headers editor in the portal.";
    "ALERT_CONSECUTIVE_FAILURE_COUNT", "alert.consecutive_failure_count", Some("100"), false, "Consecutive failures that trigger alerts (empty disables).";
    "ALERT_AUTO_DISABLE_DESTINATION", "alert.auto_disable_destination", Some("false"), false, "Disable a destination at 100% of the failure threshold.";
    "ALERT_EXHAUSTED_RETRIES_WINDOW_SECONDS", "alert.exhausted_retries_window_seconds", Some("3600"), false, "Suppression window of exhausted-retry alerts (empty disables).";
    "OPERATOR_EVENTS_TOPICS", "operator_events.topics", None, false, "Operator event topics to emit (* = all).";
    "OPERATOR_EVENTS_HTTP_URL", "operator_events.http.url", None, false, "Operator events HTTP sink URL.";
    "OPERATOR_EVENTS_HTTP_SIGNING_SECRET", "operator_events.http.signing_secret", None, true, "Operator events HTTP signing secret.";
    "OPERATOR_EVENTS_AWS_SQS_QUEUE_URL", "operator_events.aws_sqs.queue_url", None, false, "Operator events SQS queue URL.";
    "OPERATOR_EVENTS_AWS_SQS_ACCESS_KEY_ID", "operator_events.aws_sqs.access_key_id", None, true, "Operator events SQS access key id.";
    "OPERATOR_EVENTS_AWS_SQS_SECRET_ACCESS_KEY", "operator_events.aws_sqs.secret_access_key", None, true, "Operator events SQS secret key.";
    "OPERATOR_EVENTS_AWS_SQS_REGION", "operator_events.aws_sqs.region", None, false, "Operator events SQS region.";
    "OPERATOR_EVENTS_AWS_SQS_ENDPOINT", "operator_events.aws_sqs.endpoint", None, false, "Operator events SQS endpoint.";
    "OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID", "operator_events.gcp_pubsub.project_id", None, false, "Operator events Pub/Sub project.";
    "OPERATOR_EVENTS_GCP_PUBSUB_TOPIC_ID", "operator_events.gcp_pubsub.topic_id", None, false, "Operator events Pub/Sub topic.";
    "OPERATOR_EVENTS_GCP_PUBSUB_CREDENTIALS", "operator_events.gcp_pubsub.credentials", None, true, "Operator events Pub/Sub credentials.";
    "OPERATOR_EVENTS_GCP_PUBSUB_ENDPOINT", "operator_events.gcp_pubsub.endpoint", None, false, "Pub/Sub emulator address host:port (local testing; no auth).";
    "OPERATOR_EVENTS_RABBITMQ_SERVER_URL", "operator_events.rabbitmq.server_url", None, true, "Operator events RabbitMQ URL.";
    "OPERATOR_EVENTS_RABBITMQ_EXCHANGE", "operator_events.rabbitmq.exchange", None, false, "Operator events RabbitMQ exchange.";
    "IDGEN_TYPE", "idgen.type", Some("uuidv4"), false, "Id algorithm: uuidv4, uuidv7 or nanoid.";
    "IDGEN_EVENT_PREFIX", "idgen.event_prefix", None, false, "Prefix of generated event ids.";
    "IDGEN_DESTINATION_PREFIX", "idgen.destination_prefix", None, false, "Prefix of generated destination ids.";
    "IDGEN_ATTEMPT_PREFIX", "idgen.attempt_prefix", None, false, "Prefix of generated attempt ids.";
    "OTEL_SERVICE_NAME", "otel.service_name", None, false, "Enables OpenTelemetry under this service name.";
    "OTEL_EXPORTER", "otel.exporter", None, false, "OpenTelemetry exporter: otlp, console or none.";
    "OTEL_PROTOCOL", "otel.protocol", None, false, "OTLP protocol: grpc or http.";
    "OTEL_TRACES_EXPORTER", "otel.traces.exporter", None, false, "Traces exporter (overrides OTEL_EXPORTER).";
    "OTEL_METRICS_EXPORTER", "otel.metrics.exporter", None, false, "Metrics exporter (overrides OTEL_EXPORTER).";
    "OTEL_LOGS_EXPORTER", "otel.logs.exporter", None, false, "Logs exporter (overrides OTEL_EXPORTER).";
    "OTEL_EXPORTER_OTLP_PROTOCOL", "otel.otlp.protocol", None, false, "OTLP protocol of every signal: grpc or http/protobuf (overrides OTEL_PROTOCOL).";
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "otel.traces.protocol", None, false, "OTLP protocol of traces.";
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "otel.metrics.protocol", None, false, "OTLP protocol of metrics.";
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "otel.logs.protocol", None, false, "OTLP protocol of logs.";
    "OTEL_EXPORTER_OTLP_ENDPOINT", "otel.otlp.endpoint", None, false, "OTLP collector base URL (HTTP adds /v1/<signal>).";
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otel.traces.endpoint", None, false, "Full OTLP URL for traces.";
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "otel.metrics.endpoint", None, false, "Full OTLP URL for metrics.";
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "otel.logs.endpoint", None, false, "Full OTLP URL for logs.";
    "OTEL_EXPORTER_OTLP_HEADERS", "otel.otlp.headers", None, true, "Headers of every OTLP export: k1=v1,k2=v2.";
    "DISABLE_TELEMETRY", "disable_telemetry", Some("false"), false, "Accepted for compatibility: this build sends no telemetry.";
}

/// Finds a variable by environment name.
pub fn find(env: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.env == env)
}
