/**
 * Misuse of generated code is a compile error. Each `@ts-expect-error` fails the type check if the
 * line below it compiles, so these prove that a forgotten handler or a wrong param type is caught.
 */
import { describe, expectTypeOf, it } from "vitest";
import {
  ExampleServiceClient,
  RobotArmOutOfReachError,
  registerExampleService,
  registerRobotArmService,
  type ExampleServiceHandlers,
} from "../../generated/index.js";
import type { Communicator } from "mqtt-contracts";

declare const communicator: Communicator;

describe("compile errors", () => {
  it("a handler interface with a missing handler does not compile", () => {
    // @ts-expect-error: `log` is missing
    const missing: ExampleServiceHandlers = {
      get_status: () => ({ status: "running", agent_name: "a" }),
      echo: ({ message }) => ({ original: message, echo: message }),
    };
    // @ts-expect-error: `move_to`, `move_with_feedback`, `pick`, `joint_angles`, `tool_info` and `status_changed` are missing
    registerRobotArmService(communicator, { joint_angles: () => [] });
    expectTypeOf(missing).toEqualTypeOf<ExampleServiceHandlers>();
  });

  it("a handler returning the wrong type does not compile", () => {
    registerExampleService(communicator, {
      get_status: () => ({ status: "running", agent_name: "a" }),
      // @ts-expect-error: `echo` must return { original, echo }
      echo: ({ message }) => ({ original: message }),
      log: () => undefined,
    });
  });

  it("a param of the wrong type does not compile", async () => {
    const client = new ExampleServiceClient(communicator, "example");
    // @ts-expect-error: `message` must be a string
    await client.echo({ message: 123 }).catch(() => undefined);
    // @ts-expect-error: `message` is required
    await client.echo({}).catch(() => undefined);
    // @ts-expect-error: there is no such method
    await client.ech0({ message: "x" }).catch(() => undefined);
    expectTypeOf(client.echo).parameter(0).toEqualTypeOf<{ message: string }>();
  });

  it("declared error data is typed", () => {
    // @ts-expect-error: `max_reach_m` must be a number
    new RobotArmOutOfReachError({ max_reach_m: "far" });
    expectTypeOf(new RobotArmOutOfReachError({ max_reach_m: 1 }).data).toEqualTypeOf<{ max_reach_m: number }>();
  });
});
