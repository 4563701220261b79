import type { HandlerObserver } from "../communicator/membership.js";
import type { HandlerOptions } from "../communicator/types.js";
import { buildOpenRpc, digestOf, type OpenRpcDocument } from "./openrpc.js";

/**
 * What a communicator's handlers are, as `registerHandler` was told: the source of its `rpc.discover`
 * document and of the names and digest in its discovery record.
 */
export class HandlerCatalog implements HandlerObserver {
  private readonly options = new Map<string, HandlerOptions | undefined>();
  private document: OpenRpcDocument | undefined;

  constructor(
    private readonly title: string,
    private readonly library: string,
  ) {}

  registered(method: string, options: HandlerOptions | undefined): void {
    this.options.set(method, options);
    this.document = undefined;
  }

  unregistered(method: string): void {
    this.options.delete(method);
    this.document = undefined;
  }

  /** The OpenRPC document of every handler; built on first use after a change. */
  openRpc(): OpenRpcDocument {
    return (this.document ??= buildOpenRpc(this.title, this.library, this.options));
  }

  /** The names and digest a discovery record carries. */
  summary(): { methods: string[]; notifications: string[]; handlers: string[]; streams: string[]; schemaDigest: string } {
    const methods: string[] = [];
    const notifications: string[] = [];
    const handlers: string[] = [];
    const streams: string[] = [];
    for (const [name, options] of this.options) {
      (options?.kind === "method" ? methods : options?.kind === "notification" ? notifications : handlers).push(name);
      if (options?.kind === "method" && options.items !== undefined) streams.push(name);
    }
    return { methods: methods.sort(), notifications: notifications.sort(), handlers: handlers.sort(), streams: streams.sort(), schemaDigest: digestOf(this.openRpc()) };
  }
}
