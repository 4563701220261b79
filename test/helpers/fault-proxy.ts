/**
 * A TCP proxy between an MQTT client and its broker that misbehaves on demand, as real networks do
 * (Wi-Fi robots, cellular IoT): added latency, traffic black-holed in one or both directions (a half-open
 * connection: no FIN, no RST), a reset in the middle of a packet, and a listener that accepts TCP but never
 * answers (a broker that never answers CONNECT). Loopback only; it stops what it started.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/** Which way traffic goes: `up` from the client to the broker, `down` from the broker to the client. */
export type Direction = "up" | "down" | "both";

interface Link {
  client: Socket;
  broker: Socket;
}

export class FaultProxy {
  private readonly links = new Set<Link>();
  private latencyMs = 0;
  private blackholed: Direction | undefined;
  private resetArmed: "up" | "down" | undefined;
  private onReset: (() => void) | undefined;
  /** Connections accepted so far. */
  connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number } | undefined,
  ) {}

  /** A proxy to the broker at `brokerPort` on 127.0.0.1. */
  static async start(brokerPort: number): Promise<FaultProxy> {
    return FaultProxy.listen({ host: "127.0.0.1", port: brokerPort });
  }

  /** A listener that accepts TCP and never says a word: a broker that never answers CONNECT. */
  static async silent(): Promise<FaultProxy> {
    return FaultProxy.listen(undefined);
  }

  private static async listen(target: { host: string; port: number } | undefined): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port, target);
    return proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Delay every chunk by `ms`, both ways (in order). 0 turns it off. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Drop traffic in `direction` silently from now on, without closing anything: a half-open connection. */
  blackhole(direction: Direction): void {
    this.blackholed = direction;
  }

  /** Let traffic through again (what was dropped meanwhile is gone). */
  restore(): void {
    this.blackholed = undefined;
  }

  /**
   * The next chunk in `direction` is cut: its first half is forwarded, then both sides of that connection
   * are reset (RST). Resolves once that happened.
   */
  resetMidPacket(direction: "up" | "down"): Promise<void> {
    this.resetArmed = direction;
    return new Promise((resolve) => (this.onReset = resolve));
  }

  /** Reset every connection now (RST to both sides). */
  resetAll(): void {
    for (const link of this.links) this.reset(link);
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.broker.destroy();
    }
    this.links.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    client.on("error", () => undefined);
    if (this.target === undefined) {
      // Read and drop: the client's CONNECT goes nowhere, and nothing ever comes back.
      client.on("data", () => undefined);
      this.server.once("close", () => client.destroy());
      return;
    }
    const broker = connect(this.target.port, this.target.host);
    broker.on("error", () => undefined);
    client.setNoDelay(true);
    broker.setNoDelay(true);
    const link: Link = { client, broker };
    this.links.add(link);
    const closeBoth = () => {
      this.links.delete(link);
      client.destroy();
      broker.destroy();
    };
    client.on("close", closeBoth);
    broker.on("close", closeBoth);
    client.on("data", (chunk: Buffer) => this.forward(link, "up", chunk));
    broker.on("data", (chunk: Buffer) => this.forward(link, "down", chunk));
  }

  private forward(link: Link, direction: "up" | "down", chunk: Buffer): void {
    if (this.blackholed === direction || this.blackholed === "both") return;
    const to = direction === "up" ? link.broker : link.client;
    if (this.resetArmed === direction && chunk.length >= 2) {
      this.resetArmed = undefined;
      to.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => {
        this.reset(link);
        this.onReset?.();
      });
      return;
    }
    if (this.latencyMs === 0) {
      to.write(chunk);
      return;
    }
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, this.latencyMs);
  }

  private reset(link: Link): void {
    this.links.delete(link);
    link.client.resetAndDestroy();
    link.broker.resetAndDestroy();
  }
}
