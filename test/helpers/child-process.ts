import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Node flags that run this repository's TypeScript sources, as the npm scripts do. */
export const TS_NODE_ARGS = ["--conditions=@mqtt-contracts/source", "--import", "tsx"] as const;

/** The repository root: the working directory of every child. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is collected as it arrives. */
export interface Child {
  readonly process: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited and its output is read to the end. */
  readonly exited: Promise<Exit>;
  /** The first match of `pattern` on stdout; rejects if the process exits first or after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The same on stderr. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The exit, once it comes; rejects (and kills the process) after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<Exit & { stdout: string; stderr: string }>;
}

export interface StartOptions {
  /** Variables to set (a string) or remove (`undefined`) on top of this process's environment. */
  env?: Record<string, string | undefined>;
  /** The working directory. Default: the repository root. */
  cwd?: string;
}

/**
 * Starts children and kills whatever is still running in `killAll()` (call it in `afterEach`).
 * Variables that would change what a CLI or example connects to are removed from the environment.
 */
export class Children {
  private readonly running = new Set<Child>();

  start(command: string, args: readonly string[], options: StartOptions = {}): Child {
    const env: NodeJS.ProcessEnv = { ...process.env, MQTT_URL: undefined, MQTT_CONTRACTS_LOG_LEVEL: undefined, ...options.env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    // Each child leads a process group of its own, so that killing it also kills what it started
    // (`npx` runs the command in a grandchild, which would otherwise keep the pipes open).
    const proc = spawn(command, args, { cwd: options.cwd ?? repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    const listeners = new Set<() => void>();
    proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      for (const listener of listeners) listener();
    });
    proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      for (const listener of listeners) listener();
    });
    // "close", not "exit": all output has been read by then.
    const exited = new Promise<Exit>((resolve, reject) => {
      proc.once("error", reject);
      proc.once("close", (code, signal) => resolve({ code, signal }));
    });
    const describe = () => `${command} ${args.join(" ")}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
    const waitFor = (text: () => string, stream: string, pattern: RegExp, timeoutMs: number) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text());
          if (match) done(() => resolve(match));
        };
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms: ${describe()}`))), timeoutMs);
        listeners.add(check);
        exited.then(
          (exit) => done(() => reject(new Error(`exited (${exit.code ?? exit.signal}) before printing ${pattern}: ${describe()}`))),
          (error: unknown) => done(() => reject(error)),
        );
        check();
      });

    const child: Child = {
      process: proc,
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      exited,
      waitForStdout(pattern, timeoutMs = 15_000) {
        return waitFor(() => stdout, "stdout", pattern, timeoutMs);
      },
      waitForStderr(pattern, timeoutMs = 15_000) {
        return waitFor(() => stderr, "stderr", pattern, timeoutMs);
      },
      async exit(timeoutMs = 20_000) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            killGroup(proc);
            reject(new Error(`did not exit within ${timeoutMs} ms: ${describe()}`));
          }, timeoutMs);
        });
        try {
          const result = await Promise.race([exited, timedOut]);
          return { ...result, stdout, stderr };
        } finally {
          clearTimeout(timer);
        }
      },
    };
    this.running.add(child);
    void exited.finally(() => this.running.delete(child)).catch(() => undefined);
    return child;
  }

  /**
   * `node --import tsx <script> …args`, from the repository root: the TypeScript sources, never a stale
   * `dist/`; `import … from "mqtt-contracts"` resolves to them through the package's source condition.
   */
  startTs(script: string, args: readonly string[], options: StartOptions = {}): Child {
    return this.start(process.execPath, [...TS_NODE_ARGS, script, ...args], options);
  }

  /** SIGKILL every child still running and wait for each to be gone. */
  async killAll(): Promise<void> {
    const children = [...this.running];
    for (const child of children) killGroup(child.process);
    await Promise.all(children.map((child) => child.exited.catch(() => undefined)));
  }
}

/** SIGKILL a child and everything in its process group. */
function killGroup(proc: ChildProcess): void {
  try {
    if (proc.pid !== undefined) process.kill(-proc.pid, "SIGKILL");
  } catch {
    proc.kill("SIGKILL"); // the group is gone already, or the child never started
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
