import type { CommunicatorClass } from "../communicator/types.js";
import { ConfigurationError } from "../errors/errors.js";
import { MemoryCommunicator } from "../memory/memory-communicator.js";
import { MqttCommunicator } from "../mqtt/mqtt-communicator.js";

/** A class, or a loader that imports it on first use (how discovered plugins are registered). */
export type CommunicatorSource = CommunicatorClass | (() => Promise<CommunicatorClass>);

interface Entry {
  load: () => Promise<CommunicatorClass>;
  /** Where it came from, for messages: "built-in", or a package name. */
  origin: string;
}

const TYPE_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/i;

const registry = new Map<string, Entry>();

/**
 * Register a communicator type. `source` is the class, or an async loader returning it (imported
 * only when an agent first asks for the type). Registering a taken type replaces it.
 */
export function registerCommunicator(type: string, source: CommunicatorSource, origin = "user"): void {
  if (typeof type !== "string" || !TYPE_PATTERN.test(type)) {
    throw new ConfigurationError(`Communicator type ${JSON.stringify(type)} must match ${TYPE_PATTERN}`);
  }
  if (typeof source !== "function") throw new ConfigurationError(`Communicator ${type} must be a class or a loader function, got ${typeof source}`);
  let cached: Promise<CommunicatorClass> | undefined;
  const loader = source as () => Promise<CommunicatorClass>;
  const load = isClass(source)
    ? async () => source
    : () =>
        (cached ??= (async () => {
          let loaded: unknown;
          try {
            loaded = await loader();
          } catch (error) {
            throw new ConfigurationError(`Cannot load communicator ${type} from ${origin}: ${(error as Error).message}`, { cause: error });
          }
          if (!isClass(loaded)) throw new ConfigurationError(`Cannot load communicator ${type} from ${origin}: it did not load a communicator class (got ${typeof loaded})`);
          return loaded;
        })().catch((error: unknown) => {
          cached = undefined; // a later call may try again
          throw error;
        }));
  registry.set(type, { load, origin });
}

/** Registered types, sorted. */
export function communicatorTypes(): string[] {
  return [...registry.keys()].sort();
}

export function hasCommunicator(type: string): boolean {
  return registry.has(type);
}

/**
 * The class registered for `type`, imported if it was registered lazily. An unknown type rejects
 * with a `ConfigurationError` that lists the available ones.
 */
export async function getCommunicatorClass(type: string): Promise<CommunicatorClass> {
  const entry = registry.get(type);
  if (entry === undefined) {
    throw new ConfigurationError(`Unknown communicator type ${JSON.stringify(type)}; available: ${communicatorTypes().join(", ")}`, {
      details: { type, available: communicatorTypes() },
    });
  }
  return entry.load();
}

// A communicator class, as opposed to a loader: its prototype carries the Communicator methods.
function isClass(value: unknown): value is CommunicatorClass {
  const prototype = (value as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  return typeof value === "function" && typeof prototype?.start === "function" && typeof prototype?.sendRequest === "function";
}

registerCommunicator("mqtt", MqttCommunicator, "built-in");
registerCommunicator("memory", MemoryCommunicator, "built-in");
