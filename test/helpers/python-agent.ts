import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { repoRoot } from "./child-process.js";

/** The Python the tests run their paho-mqtt peers with. */
export const python = process.env.MQTT_CONTRACTS_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const AGENT_SCRIPT = "test/fixtures/openmas-agent/agent.py";

/** How long to wait for anything a child prints; generous, for loaded machines. */
export const WAIT_MS = 20_000;

/** Throw a clear error unless `python` can import paho-mqtt (CI installs python3-paho-mqtt). */
export function requirePaho(): void {
  const probe = spawnSync(python, ["-c", "import paho.mqtt.client"], { encoding: "utf8" });
  if (probe.status !== 0) {
    throw new Error(
      `${python} cannot import paho-mqtt (${probe.error?.message ?? probe.stderr.trim()}). ` +
        "Install it with `apt-get install -y python3-paho-mqtt`, or point MQTT_CONTRACTS_PYTHON at a Python that has it.",
    );
  }
}

/** One line the Python agent printed in answer to a command. */
export interface Answer {
  tag: number;
  result?: unknown;
  raised?: "MethodNotFoundError" | "RequestTimeoutError" | "CommunicationError";
  message?: string;
  error?: { code: number; message: string; details?: unknown } | null;
  details?: Record<string, unknown>;
  sent?: boolean;
  bad_command?: string;
}

/**
 * The Python agent, with its stdin open for commands (the `Children` helper gives children no stdin).
 * Its output is kept line by line; `waitForLine` looks at lines from a given index on.
 */
export class PythonAgent {
  private static readonly running = new Set<PythonAgent>();
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();
  private nextTag = 1;
  private done = false;

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    private readonly args: readonly string[],
  ) {
    const collect = (stream: NodeJS.ReadableStream, lines: string[]) => {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        partial += chunk;
        const complete = partial.split("\n");
        partial = complete.pop()!;
        lines.push(...complete);
        for (const listener of this.listeners) listener();
      });
    };
    collect(proc.stdout, this.stdoutLines);
    collect(proc.stderr, this.stderrLines);
    this.exited = new Promise((resolve, reject) => {
      proc.once("error", reject);
      proc.once("close", (code, signal) => {
        this.done = true;
        PythonAgent.running.delete(this);
        for (const listener of this.listeners) listener();
        resolve({ code, signal });
      });
    });
    this.exited.catch(() => undefined);
    PythonAgent.running.add(this);
  }

  static async start(host: string, port: number, name: string): Promise<PythonAgent> {
    const args = [AGENT_SCRIPT, host, String(port), name];
    const agent = new PythonAgent(spawn(python, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] }), args);
    await agent.waitForLine("stdout", /^ready$/);
    return agent;
  }

  /** SIGKILL whatever is still running (for afterAll, after a failure). */
  static async killAll(): Promise<void> {
    const agents = [...PythonAgent.running];
    for (const agent of agents) agent.proc.kill("SIGKILL");
    await Promise.all(agents.map((agent) => agent.exited.catch(() => undefined)));
  }

  describe(): string {
    return `${python} ${this.args.join(" ")}\n--- stdout ---\n${this.stdoutLines.join("\n")}\n--- stderr ---\n${this.stderrLines.join("\n")}`;
  }

  /** The first line of `stream` from index `since` on that matches `pattern`. */
  waitForLine(stream: "stdout" | "stderr", pattern: RegExp | ((line: string) => boolean), since = 0, timeoutMs = WAIT_MS): Promise<string> {
    const lines = stream === "stdout" ? this.stdoutLines : this.stderrLines;
    const matches = typeof pattern === "function" ? pattern : (line: string) => pattern.test(line);
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      const check = () => {
        const line = lines.slice(since).find(matches);
        if (line !== undefined) finish(() => resolve(line));
        else if (this.done) finish(() => reject(new Error(`the Python agent exited before printing ${String(pattern)} on ${stream}:\n${this.describe()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${String(pattern)} on ${stream} within ${timeoutMs} ms:\n${this.describe()}`))), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Send one command and wait for the one JSON line that answers it (same tag). */
  async command(command: Record<string, unknown>): Promise<Answer> {
    const tag = this.nextTag++;
    const since = this.stdoutLines.length;
    const answered = this.waitForLine("stdout", (line) => line.startsWith("{") && (JSON.parse(line) as Answer).tag === tag, since);
    this.proc.stdin.write(`${JSON.stringify({ ...command, tag })}\n`);
    return JSON.parse(await answered) as Answer;
  }

  call(target: string, method: string, params: Record<string, unknown>, timeout = 15): Promise<Answer> {
    return this.command({ op: "call", target, method, params, timeout });
  }

  /** SIGTERM, and the exit it leads to. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.done) this.proc.kill("SIGTERM");
    return this.exited;
  }
}

