import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort } from "./mosquitto.js";

/** One nats-server of a cluster started by the test. */
export interface NatsNode {
  /** `n1`, `n2`, …: its `server_name`. */
  readonly name: string;
  /** `mqtt://127.0.0.1:<port>`: its MQTT listener (MQTT 3.1.1 only). */
  readonly mqttUrl: string;
  /** `http://127.0.0.1:<port>`: its monitoring endpoint (`/jsz`, `/routez`, `/healthz`). */
  readonly monitorUrl: string;
  /** The running server's process id; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** The end of what the server logged since it was (re)started, for failure messages. */
  readonly log: string;
  /** Stop this node (SIGTERM; SIGKILL if it lingers). Its JetStream store stays, for `start()`. */
  stop(): Promise<void>;
  /** Start it again on the same ports, config and store; resolves once it serves MQTT in the cluster again. */
  start(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** How long the cluster took from spawn to every node passing the MQTT round trip, in ms. */
  readonly readyMs: number;
  /** Stop exactly the processes this started and remove the temp folder. */
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Number of servers. Default 3. */
  nodes?: number;
  /** How long to wait for the cluster to be ready. Default 60 000 ms (JetStream elections are slower on a loaded machine). */
  timeoutMs?: number;
  /**
   * `mqtt { stream_replicas }`: replicas of the MQTT streams (sessions, QoS 1 messages, retained
   * messages). Default: the number of nodes, at most 3. Left to itself, nats-server 2.9 created them
   * with 2 replicas in a fresh 3-node cluster; a 2-replica stream has no quorum while either of its
   * nodes is down, so MQTT CONNECTs on the other nodes were refused ("JetStream system temporarily
   * unavailable") until a stopped node was back.
   */
  mqttStreamReplicas?: number;
}

/** The nats-server binary: `NATS_SERVER_BIN`, else Debian's /usr/sbin/nats-server (not on every PATH), else PATH. */
export const natsServerBin = process.env.NATS_SERVER_BIN ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server");

const CLUSTER_NAME = "mqtt-contracts-test";

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
  mqtt: number;
}

/**
 * Start `nodes` nats-servers on free ports of 127.0.0.1, routed to each other as one cluster with
 * JetStream (each with its own store under a temp folder) and an MQTT listener. Resolves once the
 * JetStream meta leader is known on every node and a QoS 1 message published on each node reached a
 * subscriber on the next one: before that, an MQTT CONNECT may be refused or go unanswered.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  // Free ports are found by binding port 0 and letting go, so another test's process may take one before a
  // node binds it (12 ports for 3 nodes): such a node exits at once, and the cluster starts again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test((error as Error).message)) throw error;
    }
  }
}

async function startNatsClusterOnce(options: NatsClusterOptions): Promise<NatsCluster> {
  const count = options.nodes ?? 3;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const streamReplicas = options.mqttStreamReplicas ?? Math.min(count, 3);
  const began = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-nats-"));
  const ports: Ports[] = [];
  for (let i = 0; i < count; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort(), mqtt: await freePort() });

  const servers = await Promise.all(
    ports.map(async (own, i) => {
      const name = `n${i + 1}`;
      const storeDir = join(dir, name);
      await mkdir(storeDir);
      const routes = ports.filter((other) => other !== own).map((other) => `nats-route://127.0.0.1:${other.cluster}`);
      const configPath = join(dir, `${name}.conf`);
      await writeFile(
        configPath,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${own.client}`,
          `http: 127.0.0.1:${own.monitor}`,
          // Small limits: JetStream would otherwise reserve most of the disk and a quarter of the memory.
          `jetstream { store_dir: ${JSON.stringify(storeDir)}, max_memory_store: 64MB, max_file_store: 256MB }`,
          `cluster { name: ${CLUSTER_NAME}, listen: 127.0.0.1:${own.cluster}, routes: [${routes.join(", ")}] }`,
          `mqtt { host: 127.0.0.1, port: ${own.mqtt}, stream_replicas: ${streamReplicas} }`,
          "",
        ].join("\n"),
      );
      return new NatsServer(name, configPath, own);
    }),
  );

  const close = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const server of servers) server.spawn();
    const deadline = began + timeoutMs;
    await Promise.all(servers.map((server) => server.waitForCluster(count, deadline)));
    // Each node publishes to a subscriber on the next: MQTT works on every node, and across them.
    for (let i = 0; i < count; i++) await mqttRoundTrip(servers[i]!, servers[(i + 1) % count]!, deadline);
  } catch (error) {
    await close();
    throw error;
  }
  const readyMs = Date.now() - began;
  return {
    nodes: servers.map((server) => ({
      name: server.name,
      mqttUrl: server.mqttUrl,
      monitorUrl: server.monitorUrl,
      get pid() {
        return server.pid;
      },
      get log() {
        return server.logTail;
      },
      stop: () => server.stop(),
      async start() {
        server.spawn();
        const deadline = Date.now() + timeoutMs;
        await server.waitForCluster(count, deadline);
        const other = servers.find((candidate) => candidate !== server && candidate.pid !== undefined);
        await mqttRoundTrip(server, other ?? server, deadline);
      },
    })),
    readyMs,
    close,
  };
}

class NatsServer {
  readonly mqttUrl: string;
  readonly monitorUrl: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = "";

  get logTail(): string {
    return this.log;
  }

  constructor(
    readonly name: string,
    private readonly configPath: string,
    ports: Ports,
  ) {
    this.mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
    this.monitorUrl = `http://127.0.0.1:${ports.monitor}`;
  }

  get pid(): number | undefined {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  spawn(): void {
    if (this.pid !== undefined) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    this.log = "";
    const child = spawn(natsServerBin, ["-c", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.once("error", (error) => (this.log += `\nspawn ${natsServerBin}: ${error.message}`));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const killed = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(killed);
  }

  /** Rejects with the log's tail if the process has exited. */
  private checkAlive(): void {
    if (this.child === undefined || this.pid === undefined) throw new Error(`nats-server ${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}):\n${this.log.slice(-4000)}`);
  }

  describe(): string {
    return `nats-server ${this.name} (${this.mqttUrl}); its log ends:\n${this.log.slice(-4000)}`;
  }

  /** Until `/jsz` shows a JetStream meta leader in a meta group of `size`, and `/routez` a route to every other node. */
  async waitForCluster(size: number, deadline: number): Promise<void> {
    let last = "no answer yet";
    for (;;) {
      this.checkAlive();
      try {
        const jsz = (await getJson(`${this.monitorUrl}/jsz`)) as { meta_cluster?: { leader?: string; cluster_size?: number } };
        const routez = (await getJson(`${this.monitorUrl}/routez`)) as { num_routes?: number; routes?: { remote_id?: string }[] };
        const remotes = new Set((routez.routes ?? []).map((route) => route.remote_id));
        last = `meta leader ${JSON.stringify(jsz.meta_cluster?.leader ?? null)} of ${jsz.meta_cluster?.cluster_size ?? "?"}, routes to ${remotes.size} servers`;
        if (jsz.meta_cluster?.leader && jsz.meta_cluster.cluster_size === size && remotes.size >= size - 1) return;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: cluster not formed in time (${last}). ${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Connect to both nodes (retrying while JetStream is not ready for MQTT), subscribe QoS 1 on `to`, publish QoS 1 on `from`, wait for it. */
async function mqttRoundTrip(from: NatsServer, to: NatsServer, deadline: number): Promise<void> {
  const topic = `probe/${from.name}/${to.name}/${Date.now()}`;
  const subscriber = await connectWhenReady(to, deadline);
  try {
    const publisher = from === to ? subscriber : await connectWhenReady(from, deadline);
    try {
      const arrived = new Promise<void>((resolve) => subscriber.on("message", (received) => received === topic && resolve()));
      const logs = () => (from === to ? to.describe() : `${from.describe()}\n${to.describe()}`);
      await within(subscriber.subscribeAsync(topic, { qos: 1 }), deadline, () => `subscribing QoS 1 on ${to.name}. ${logs()}`);
      await within(publisher.publishAsync(topic, "probe", { qos: 1 }), deadline, () => `publishing QoS 1 on ${from.name}. ${logs()}`);
      await within(arrived, deadline, () => `a QoS 1 message from ${from.name} to ${to.name}. ${logs()}`);
    } finally {
      if (publisher !== subscriber) await publisher.endAsync(true);
    }
  } finally {
    await subscriber.endAsync(true);
  }
}

async function connectWhenReady(server: NatsServer, deadline: number): Promise<mqtt.MqttClient> {
  let last = "";
  for (;;) {
    try {
      const remaining = Math.max(deadline - Date.now(), 1);
      // allowRetries false: a connection closed before its CONNACK rejects instead of waiting for ever.
      return await mqtt.connectAsync(server.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: Math.min(remaining, 10_000), clean: true }, false);
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`MQTT on ${server.name} not ready in time (${last}). ${server.describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function within<T>(promise: Promise<T>, deadline: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not done in time: ${what()}`)), Math.max(deadline - Date.now(), 1))));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** GET `url` as JSON on a connection of its own (closed afterwards: nothing left to hold the process). */
function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: 5_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${url} answered ${response.statusCode}: ${body.slice(0, 200)}`));
        }
      });
    });
    request.once("timeout", () => request.destroy(new Error(`${url}: no answer in 5 s`)));
    request.once("error", reject);
  });
}
