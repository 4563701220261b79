import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./mosquitto.js";

/** A RabbitMQ node with the MQTT plugin, started by the test: its own node name, ports and data folder. */
export interface RabbitMq {
  readonly mqttUrl: string;
  /** Stop the node (its whole process group) and remove its folder. */
  close(): Promise<void>;
}

/** The server script without Debian's wrapper, which would switch to the rabbitmq user (who cannot read our temp folder). */
export const rabbitmqServerBin = process.env.RABBITMQ_SERVER_BIN ?? (existsSync("/usr/lib/rabbitmq/bin/rabbitmq-server") ? "/usr/lib/rabbitmq/bin/rabbitmq-server" : "rabbitmq-server");

/**
 * Start a RabbitMQ node on free ports (AMQP, distribution and MQTT), never the system one on 5672. A
 * node takes ~10 s to boot on these machines; the wait allows two minutes for a loaded one.
 */
export async function startRabbitMq(): Promise<RabbitMq> {
  const dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-rabbitmq-"));
  const [amqpPort, distPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
  await writeFile(join(dir, "rabbitmq.conf"), [`listeners.tcp.default = ${amqpPort}`, `mqtt.listeners.tcp.default = ${mqttPort}`, "mqtt.allow_anonymous = true", "loopback_users = none", ""].join("\n"));
  await writeFile(join(dir, "enabled_plugins"), "[rabbitmq_mqtt].\n");
  const node = `mqtt-contracts-${process.pid}-${mqttPort}@localhost`;
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_PID_FILE: join(dir, "pid"),
  };
  // Its own process group: stopping the node stops exactly what this started.
  const proc: ChildProcess = spawn(rabbitmqServerBin, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const close = async () => {
    try {
      if (proc.pid !== undefined && proc.exitCode === null) process.kill(-proc.pid, "SIGTERM");
    } catch {
      // already gone
    }
    const killed = setTimeout(() => {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 15_000);
    await exited;
    clearTimeout(killed);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForPort(mqttPort, 120_000),
      exited.then(() => {
        throw new Error(`rabbitmq-server exited before its MQTT listener was up:\n${output.slice(-3000)}`);
      }),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  return { mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, close };
}
