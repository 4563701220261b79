/**
 * The generated declarations equal what Zod infers: `z.infer` (`z.output`) of every params, result
 * and error data schema, and `z.input` of params where defaults or codecs make it differ.
 * Checked by the TypeScript compiler (vitest typecheck, and `tsc --noEmit` in `npm test`).
 */
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type * as z3 from "zod/v3";
import { ExampleService } from "../../contracts/example.js";
import { InventoryService } from "../../contracts/inventory.js";
import { RobotArmService } from "../../contracts/robot-arm.js";
import type * as G from "../../generated/index.js";

const E = ExampleService.methods;
const R = RobotArmService.methods;
const I = InventoryService.methods;

describe("generated types equal z.infer / z.input of their schemas", () => {
  it("example (Zod 4)", () => {
    expectTypeOf<G.ExampleGetStatusParams>().toEqualTypeOf<z.infer<typeof E.get_status.params>>();
    expectTypeOf<G.ExampleGetStatusResult>().toEqualTypeOf<z.infer<typeof E.get_status.result>>();
    expectTypeOf<G.ExampleEchoParams>().toEqualTypeOf<z.infer<typeof E.echo.params>>();
    expectTypeOf<G.ExampleEchoResult>().toEqualTypeOf<z.infer<typeof E.echo.result>>();
    expectTypeOf<G.ExampleLogParams>().toEqualTypeOf<z.infer<typeof ExampleService.notifications.log.params>>();
  });

  it("robot_arm (Zod 4: nesting, enums, unions, defaults, a codec)", () => {
    expectTypeOf<G.RobotArmMoveToParams>().toEqualTypeOf<z.infer<typeof R.move_to.params>>();
    expectTypeOf<G.RobotArmMoveToParamsInput>().toEqualTypeOf<z.input<typeof R.move_to.params>>();
    expectTypeOf<G.RobotArmMoveToResult>().toEqualTypeOf<z.infer<typeof R.move_to.result>>();
    expectTypeOf<G.RobotArmPickParams>().toEqualTypeOf<z.infer<typeof R.pick.params>>();
    expectTypeOf<G.RobotArmPickResult>().toEqualTypeOf<z.infer<typeof R.pick.result>>();
    expectTypeOf<G.RobotArmJointAnglesParams>().toEqualTypeOf<z.infer<typeof R.joint_angles.params>>();
    expectTypeOf<G.RobotArmJointAnglesResult>().toEqualTypeOf<z.infer<typeof R.joint_angles.result>>();
    expectTypeOf<G.RobotArmToolInfoParams>().toEqualTypeOf<z.infer<typeof R.tool_info.params>>();
    expectTypeOf<G.RobotArmToolInfoResult>().toEqualTypeOf<z.infer<typeof R.tool_info.result>>();
    expectTypeOf<G.RobotArmStatusChangedParams>().toEqualTypeOf<z.infer<typeof RobotArmService.notifications.status_changed.params>>();
    expectTypeOf<G.RobotArmStatusChangedParamsInput>().toEqualTypeOf<z.input<typeof RobotArmService.notifications.status_changed.params>>();
    expectTypeOf<G.RobotArmOutOfReachErrorData>().toEqualTypeOf<z.infer<NonNullable<typeof R.move_to.errors.OutOfReach.data>>>();
    expectTypeOf<G.RobotArmNothingThereErrorData>().toEqualTypeOf<z.infer<NonNullable<typeof R.pick.errors.NothingThere.data>>>();
    // The codec: Date for code, an ISO string on the wire.
    expectTypeOf<G.RobotArmMoveToResult["finished_at"]>().toEqualTypeOf<Date>();
    expectTypeOf<G.RobotArmMoveToParamsInput["deadline"]>().toEqualTypeOf<string | undefined>();
  });

  it("inventory (zod/v3)", () => {
    expectTypeOf<G.InventoryLookupParams>().toEqualTypeOf<z3.infer<typeof I.lookup.params>>();
    expectTypeOf<G.InventoryLookupParamsInput>().toEqualTypeOf<z3.input<typeof I.lookup.params>>();
    expectTypeOf<G.InventoryLookupResult>().toEqualTypeOf<z3.infer<typeof I.lookup.result>>();
    expectTypeOf<G.InventoryReserveParams>().toEqualTypeOf<z3.infer<typeof I.reserve.params>>();
    expectTypeOf<G.InventoryReserveResult>().toEqualTypeOf<z3.infer<typeof I.reserve.result>>();
    expectTypeOf<G.InventoryRestockedParams>().toEqualTypeOf<z3.infer<typeof InventoryService.notifications.restocked.params>>();
    expectTypeOf<G.InventoryUnknownSkuErrorData>().toEqualTypeOf<z3.infer<NonNullable<typeof I.reserve.errors.UnknownSku.data>>>();
  });

  it("clients take the input type and return the output type", () => {
    expectTypeOf<G.RobotArmServiceClient["move_to"]>().parameter(0).toEqualTypeOf<G.RobotArmMoveToParamsInput>();
    expectTypeOf<G.RobotArmServiceClient["move_to"]>().returns.resolves.toEqualTypeOf<G.RobotArmMoveToResult>();
    expectTypeOf<G.InventoryServiceClient["lookup"]>().parameter(0).toEqualTypeOf<G.InventoryLookupParamsInput>();
    expectTypeOf<G.ExampleServiceClient["log"]>().returns.resolves.toBeVoid();
    expectTypeOf<G.RobotArmServiceHandlers["move_to"]>().parameter(0).toEqualTypeOf<G.RobotArmMoveToParams>();
  });
});
