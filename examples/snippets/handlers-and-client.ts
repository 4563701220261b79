// The guide's "Contracts and codegen" snippet, compiled with the repository (tsc includes examples/).
import type { Communicator } from "mqtt-contracts";
import { ExampleServiceClient, InventoryServiceClient, InventoryUnknownSkuError, registerExampleService, registerInventoryService } from "../../generated/index.js";

export async function handlersAndClient(communicator: Communicator): Promise<void> {
  // #region usage
  // server side, e.g. in an agent's setup()
  registerExampleService(communicator, {
    get_status: () => ({ status: "running", agent_name: "example_agent" }),
    echo: ({ message }) => ({ original: message, echo: message }),
    log: ({ message }) => console.log(message),
  });

  // client side: "example_agent" is a serviceUrls key
  const example = new ExampleServiceClient(communicator, "example_agent");
  const { echo } = await example.echo({ message: "hi" }, { timeoutMs: 2_000 });
  console.log(echo);

  // a declared error is a class of its own, thrown by the handler and caught by the caller
  registerInventoryService(communicator, {
    lookup: () => ({ items: [], truncated: false }),
    reserve: ({ sku }) => {
      throw new InventoryUnknownSkuError({ sku });
    },
    restocked: () => undefined,
  });
  const inventory = new InventoryServiceClient(communicator, "inventory");
  try {
    await inventory.reserve({ sku: "X-1", quantity: 2 });
  } catch (error) {
    if (error instanceof InventoryUnknownSkuError) console.log(error.data.sku); // typed
  }
  // #endregion usage
}
