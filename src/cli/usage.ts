export const USAGE = `Usage: mqtt-contracts <command> [options]

Commands:
  call <topic-prefix> <method> [<json params>]    Call a method; print its JSON result on stdout. A method
                                                  that streams prints each item as one line of JSON as it
                                                  comes, then its result on the last line; Ctrl-C cancels
  notify <topic-prefix> <method> [<json params>]  Publish a notification (no answer comes back)
  call|notify <agent name> <method> [<json params>] --wire-format openmas
                                                  The same, to an agent on OpenMAS's built-in MQTT
                                                  communicator (openmas/<agent name>/request/<method>)
  ls                                              List the services on the broker and their instances
  describe <topic-prefix> [<method>]              Show a service's methods and notifications, with
                                                  params and results (from its rpc.discover)
  stats <topic-prefix>                            Calls, errors and latency per method and instance
  broker                                          Run an embedded MQTT broker until SIGINT/SIGTERM
  ui [--url <ws url>] [--port <port>]             Serve a web page that lists the live services and calls
                                                  them from their schemas, until SIGINT/SIGTERM
  codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]
                                                  Generate typed clients and handlers from contracts
  init [<dir>] [--dependency <spec>]              Start a new project: a contract and two agents

Options of call, notify, ls, describe and stats:
  --url <url>              Broker URL (default: $MQTT_URL, else mqtt://localhost:1883)
  --connect-timeout <ms>   How long to wait for the broker (default 10000)
  --timeout <ms>           call, describe, stats: how long to wait for an answer (default 10000); for a
                           stream, for all its items and the result
  --idle-timeout <ms>      call: give up on a stream when no item comes for this long (default: --timeout);
                           the service also stops a stream whose caller it has not heard from for this long
  --wire-format <jsonrpc|openmas>  call, notify: jsonrpc (default) speaks JSON-RPC on <topic-prefix>/...;
                           openmas speaks OpenMAS's built-in format, and the first argument is the agent's name
  --openmas-topic-prefix <root>  call, notify: OpenMAS's topic_prefix (default openmas)
  --json                   ls, describe, stats: print the raw JSON (discovery records, the OpenRPC
                           document, rpc.stats answers)
  --username <name>        Broker user name (default: $MQTT_USERNAME)
  --password <password>    Broker password (default: $MQTT_PASSWORD, which, unlike the flag,
                           does not show in the process list)
  --ca <file>              PEM file of the CA that signed the broker's certificate (mqtts://)
  --cert <file>, --key <file>  PEM client certificate and key, for brokers that require one
  --insecure               Accept a broker certificate that does not verify (test brokers only)
  --protocol <5|3.1.1|auto>  MQTT version (default auto: 5, else 3.1.1)

Options of broker:
  --host <host>            Interface to listen on (default 127.0.0.1)
  --port <port>            TCP port; 0 picks a free one (default 1883)
  --ws-port <port>         Also serve MQTT over WebSocket (ws://host:port) for browsers; 0 picks a free one
  --ws-origin <origin>     A page origin allowed to connect over WebSocket (repeatable; * for any;
                           default: pages served from this machine)
  --redis <url>            Join the other embedded brokers of this Redis (redis://[:password@]host[:port][/db]):
                           clients of any of them reach each other, as on one broker

Options of ui:
  --url <ws url>           The broker's WebSocket URL the page connects to (ws:// or wss://; default:
                           $MQTT_URL if it is one, else typed in the page). A user name and password are
                           typed in the page, kept in its memory only
  --host <host>            Interface to serve the page on (default 127.0.0.1)
  --port <port>            Port of the page; 0 picks a free one (default 7883)
  --allow-remote           Serve on a --host that is not a loopback address (whoever reaches it can call
                           your services)

  -h, --help               Show this help; mqtt-contracts codegen --help and init --help show theirs

<json params> must be a JSON object; it defaults to {}.

Exit codes:
  0   success
  1   the service answered with a JSON-RPC error (code and message on stderr);
      codegen: a contract problem, or --check found stale files
  2   no response in time, the broker unreachable or refusing the connection (a bad
      password, an untrusted certificate: the message says which, at once), or the
      broker port is in use
  64  usage error
  130 call: interrupted by SIGINT (Ctrl-C); the service was told to cancel the call (143: SIGTERM)
  70  internal error

Environment:
  MQTT_URL                  default broker URL
  MQTT_USERNAME, MQTT_PASSWORD  default credentials
  MQTT_CONTRACTS_LOG_LEVEL  runtime log level on stderr: debug, info, warn, error (default), silent`;

/** What follows a usage error on stderr: the commands, and where the rest is. */
export const SHORT_USAGE = `Usage:
  mqtt-contracts call <topic-prefix> <method> [<json params>] [--url <url>] [--timeout <ms>] [--idle-timeout <ms>] [connection options]
  mqtt-contracts notify <topic-prefix> <method> [<json params>] [--url <url>] [connection options]
  mqtt-contracts call|notify <agent name> <method> [<json params>] --wire-format openmas [--openmas-topic-prefix <root>] ...
  mqtt-contracts ls [--json] [--url <url>] [connection options]
  mqtt-contracts describe <topic-prefix> [<method>] [--json] [--url <url>] [connection options]
  mqtt-contracts stats <topic-prefix> [--json] [--url <url>] [connection options]
  mqtt-contracts broker [--host <host>] [--port <port>] [--ws-port <port>] [--redis <url>]
  mqtt-contracts ui [--url <ws url>] [--host <host>] [--port <port>] [--allow-remote]
  mqtt-contracts codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]
  mqtt-contracts init [<dir>] [--dependency <spec>]
Run mqtt-contracts --help for details and exit codes.`;

/** Bad command-line usage: the message and the usage text go to stderr, and the CLI exits 64. */
export class UsageError extends Error {
  override name = "UsageError";
}
