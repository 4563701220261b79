import type { HandlerOptions } from "../communicator/types.js";
import { buildOpenRpc, digestOf, type OpenRpcDocument } from "./openrpc.js";

/**
 * What a communicator's handlers are, as `registerHandler` was told: the source of its `rpc.discover`
 * document and of the names and digest in its discovery record.
 */
export class HandlerCatalog {
  private readonly options = new Map<string, HandlerOptions | undefined>();
  /** Notifications a group delivers to one instance only. */
  readonly deliveredToOne = new Set<string>();
  private document: OpenRpcDocument | undefined;

  constructor(
    private readonly title: string,
    private readonly library: string,
  ) {}

  set(method: string, options: HandlerOptions | undefined): void {
    this.options.set(method, options);
    if (options?.kind === "notification" && options.delivery === "one") this.deliveredToOne.add(method);
    else this.deliveredToOne.delete(method);
    this.document = undefined;
  }

  delete(method: string): void {
    this.options.delete(method);
    this.deliveredToOne.delete(method);
    this.document = undefined;
  }

  get size(): number {
    return this.options.size;
  }

  /** The OpenRPC document of every handler; built on first use after a change. */
  openRpc(): OpenRpcDocument {
    return (this.document ??= buildOpenRpc(this.title, this.library, this.options));
  }

  /** The names and digest a discovery record carries. */
  summary(): { methods: string[]; notifications: string[]; handlers: string[]; schemaDigest: string } {
    const methods: string[] = [];
    const notifications: string[] = [];
    const handlers: string[] = [];
    for (const [name, options] of this.options) {
      (options?.kind === "method" ? methods : options?.kind === "notification" ? notifications : handlers).push(name);
    }
    return { methods: methods.sort(), notifications: notifications.sort(), handlers: handlers.sort(), schemaDigest: digestOf(this.openRpc()) };
  }
}
