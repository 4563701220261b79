/** What a CLI command may touch of the outside world, so `main` can also run in-process. */
export interface CliIo {
  /** Write one line to stdout. */
  out(line: string): void;
  /** Write one line to stderr. */
  err(line: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory: where `codegen` and `init` look for the project. */
  readonly cwd: string;
  /**
   * Show (or, with undefined, clear) a transient progress line such as `codegen: 40/100 contracts`.
   * Only present when stdout is a terminal: piped output and logs never see it.
   */
  progress?(line: string | undefined): void;
  /** Resolves with the name of the signal that asks a long-running command (`broker`) to stop. */
  waitForStop(): Promise<string>;
}

/** The real process: stdout, stderr, `process.env`, SIGINT and SIGTERM. */
export function processIo(): CliIo {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
    ...(process.stdout.isTTY ? { progress: (line: string | undefined) => void process.stdout.write(line === undefined ? "\r\x1b[K" : `\r\x1b[K${line}`) } : {}),
    waitForStop: () =>
      new Promise((resolve) => {
        const signals = ["SIGINT", "SIGTERM"] as const;
        const onSignal = (signal: NodeJS.Signals) => {
          for (const s of signals) process.off(s, onSignal);
          resolve(signal);
        };
        for (const s of signals) process.on(s, onSignal);
      }),
  };
}
