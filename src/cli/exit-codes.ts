/** The exit codes of the `mqtt-contracts` CLI. This is the only place the numbers live. */
export const ExitCode = {
  /** The command did what it was asked: a call got a result, a notification was published, the broker stopped on a signal. */
  Ok: 0,
  /** The remote side answered the call with a JSON-RPC error (its code and message are on stderr). */
  RemoteError: 1,
  /**
   * `codegen`: a contract problem (each named on stderr) or a `--check` that found stale files; `init`: the
   * folder is not empty. The same number as `RemoteError`: the command could not do what it was asked.
   */
  Problem: 1,
  /** No answer in time, the broker could not be reached, or the embedded broker could not listen (port in use). */
  Unavailable: 2,
  /** Bad usage: a missing argument, an unknown flag, params that are not a JSON object. Same as BSD `EX_USAGE`. */
  Usage: 64,
  /** `call`: SIGINT (Ctrl-C) cancelled the call, and the service was told. 128 + 2, as a shell reports a process SIGINT killed. */
  Interrupted: 130,
  /** `call`: SIGTERM cancelled the call, and the service was told. 128 + 15. */
  Terminated: 143,
  /** A bug: something failed that the CLI did not expect. Same as BSD `EX_SOFTWARE`. */
  Internal: 70,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
