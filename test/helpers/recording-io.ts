import type { CliIo } from "../../src/cli/cli-io.js";

/** A `CliIo` that collects what a command prints, for running CLI commands in-process. */
export interface RecordingIo extends CliIo {
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once `pattern` is printed, on stdout or stderr, after this call. */
  waitFor(pattern: RegExp): Promise<void>;
  /** Ask a long-running command (`broker`, `codegen --watch`) to stop, as SIGINT would. */
  stop(): void;
}

export function recordingIo(cwd: string, env: Record<string, string | undefined> = process.env): RecordingIo {
  let stdout = "";
  let stderr = "";
  let both = "";
  const waiters = new Set<() => void>();
  let stopRequested: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  return {
    cwd,
    env,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    out(line) {
      stdout += `${line}\n`;
      both += `${line}\n`;
      for (const waiter of waiters) waiter();
    },
    err(line) {
      stderr += `${line}\n`;
      both += `${line}\n`;
      for (const waiter of waiters) waiter();
    },
    waitForStop: () => stopped,
    stop: () => stopRequested("SIGINT"),
    waitFor(pattern) {
      const from = both.length;
      return new Promise((resolve) => {
        const check = () => {
          if (pattern.test(both.slice(from))) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
