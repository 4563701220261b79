import type { Communicator, CommunicatorInit } from "../communicator/types.js";
import { discoverCommunicators } from "./discovery.js";
import { getCommunicatorClass, hasCommunicator } from "./registry.js";

/**
 * Build a communicator of `type`. A type that is not registered is first looked for among
 * installed packages (`discoverCommunicators`); if it is still unknown, the error lists the types
 * that are available.
 */
export async function createCommunicator(type: string, init: CommunicatorInit, discover: { cwd?: string } = {}): Promise<Communicator> {
  if (!hasCommunicator(type)) await discoverCommunicators({ ...discover, ...(init.logger ? { logger: init.logger } : {}) });
  const Class = await getCommunicatorClass(type);
  return new Class(init);
}
