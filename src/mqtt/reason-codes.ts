/** The MQTT reason codes a broker refuses with, named for messages, and what to do about them. */

/** CONNACK codes that mean the broker does not speak MQTT 5 (3.1.1 code 1, MQTT 5 reason 132). */
export const PROTOCOL_REFUSED = new Set([1, 132]);

export const CONNACK_REASONS: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
  132: "unsupported protocol version",
  133: "client identifier not valid",
  134: "bad user name or password",
  135: "not authorized",
  136: "server unavailable",
  137: "server busy",
  138: "banned",
};

/** CONNACK refusals that may pass: the server is unavailable (3.1.1 code 3, MQTT 5 reason 136) or busy (137). */
export const TRANSIENT_CONNACK = new Set([3, 136, 137]);

/** What to do about a CONNACK refusal. */
export const CONNACK_HINTS: Record<number, string> = {
  4: ": check the username and password",
  5: ": the broker does not let this client connect",
  134: ": check the username and password",
  135: ": the broker does not let this client connect",
};

/** TLS failures no retry can fix: the certificate chain or name is wrong until someone changes the configuration. */
export const TLS_FAILURES: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted",
  CERT_UNTRUSTED: "untrusted",
  CERT_SIGNATURE_FAILURE: "untrusted",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "name",
};

/** MQTT 5 reason codes a SUBACK or PUBACK may refuse with (3.1.1 has only 128). */
export const FAILURE_REASONS: Record<number, string> = {
  128: "unspecified error",
  131: "implementation specific error",
  135: "not authorized",
  143: "topic filter invalid",
  144: "topic name invalid",
  145: "packet identifier in use",
  151: "quota exceeded",
  153: "payload format invalid",
  158: "shared subscriptions not supported",
  161: "subscription identifiers not supported",
  162: "wildcard subscriptions not supported",
};

/** A SUBACK or PUBACK refusal, named for a message. */
export function reasonName(code: number): string {
  return `reason code ${code}${FAILURE_REASONS[code] ? `, ${FAILURE_REASONS[code]}` : ""}`;
}
