/**
 * The defaults of the communicator options, as named constants: the one place their values live. The option
 * schemas, the runtime and codegen read them from here, without loading the communicator itself.
 */
/** Default `timeoutMs` of a request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default `maxPayloadBytes`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Default `maxConcurrentHandlers`. */
export const DEFAULT_MAX_CONCURRENT_HANDLERS = 1024;
/** Default time `stop()` gives running handlers to answer. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** Default `maxQueuedRequests`. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 256;
/** Default `sessionExpirySeconds` of a communicator that serves outside a group. */
export const DEFAULT_SESSION_EXPIRY_SECONDS = 300;
/**
 * How long `stop()` may spend, besides the handlers' grace, on what needs the broker: clearing the
 * discovery record and flushing what is in flight. With the broker unreachable it gives up on both then.
 */
export const CLOSE_TIMEOUT_MS = 2_000;
/** Default `clockSkewToleranceMs`. */
export const DEFAULT_CLOCK_SKEW_TOLERANCE_MS = 1_000;
/** Default `shareProbeMs`: how long `start()` waits for its `$share` probe before it decides the broker does not deliver them. */
export const DEFAULT_SHARE_PROBE_MS = 2_000;
/** Default `credit` of a streaming call: items the server may send ahead of the consumer. */
export const DEFAULT_STREAM_CREDIT = 256;
/** Default `idleTimeoutMs` of a streaming call. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
