/**
 * What `src/instances/` plugs into the RPC core: the presence (discovery record, group routing, the
 * instances of its targets), the catalog behind `rpc.discover`, and the counters behind `rpc.stats`.
 */
import type { CommunicatorParts, MembershipContext } from "../communicator/membership.js";
import type { Handler } from "../communicator/types.js";
import { HandlerCatalog } from "./handler-catalog.js";
import { Presence } from "./presence.js";
import { ServiceStats } from "./stats.js";

export function instanceParts(context: MembershipContext): CommunicatorParts {
  const catalog = new HandlerCatalog(context.agentName, context.library);
  const stats = new ServiceStats(context.clientId, context.startedAt);
  const presence = new Presence({ ...context, describe: () => catalog.summary() });
  return {
    membership: presence,
    observers: [catalog, presence],
    calls: stats,
    builtins: new Map<string, Handler<any, any>>([
      ["rpc.discover", () => catalog.openRpc()],
      ["rpc.stats", () => stats.snapshot()],
    ]),
  };
}
