import { z } from "zod";
import { defineService } from "mqtt-contracts";

const Pose = z
  .object({
    x: z.number().describe("Metres along the table, from its left edge"),
    y: z.number().describe("Metres across the table, from its front edge"),
    theta: z.number().min(-Math.PI).max(Math.PI).optional().describe("Heading in radians; keep the current one if left out"),
  })
  .describe("A position on the work table");

const Shape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("sphere"), radius: z.number().positive() }),
  z.object({ kind: z.literal("box"), width: z.number().positive(), depth: z.number().positive(), height: z.number().positive() }),
]);

/** A timestamp, carried on the wire as an ISO 8601 string and handed to code as a Date. */
const Timestamp = z.codec(z.iso.datetime(), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
});

/** A richer contract that exercises the generator: nesting, arrays, enums, unions, defaults, errors, a codec, a stream. */
export const RobotArmService = defineService({
  name: "robot_arm",
  description: "A pick-and-place arm on a work table.",
  version: "2.1.0",
  methods: {
    move_to: {
      description: "Move the gripper to a pose, along waypoints if given.",
      params: z.object({
        target: Pose,
        waypoints: z.array(Pose).max(32).default([]).describe("Poses to pass through on the way, in order"),
        speed: z.enum(["slow", "normal", "fast"]).default("normal").describe("How fast to move"),
        deadline: Timestamp.optional().describe("Give up if the move cannot finish by then"),
      }),
      result: z.object({
        reached: Pose,
        duration_ms: z.number().int().nonnegative(),
        finished_at: Timestamp,
      }),
      timeoutMs: 20_000,
      errors: {
        OutOfReach: { code: 4001, description: "The target is outside the arm's reach.", data: z.object({ max_reach_m: z.number() }) },
        EmergencyStop: { code: 4002, description: "The emergency stop is engaged." },
      },
    },
    move_with_feedback: {
      description:
        "Move the gripper to a pose, reporting its pose on the way, about every 100 ms.\n" +
        "A caller may cancel at any time (break out of the loop, or cancel()): the arm then stops where it is.",
      params: z.object({
        target: Pose,
        speed: z.enum(["slow", "normal", "fast"]).default("normal").describe("How fast to move"),
      }),
      yields: Pose.extend({
        progress: z.number().min(0).max(1).describe("Fraction of the path covered so far"),
      }).describe("Where the gripper is on the way"),
      result: z.object({
        reached: Pose,
        duration_ms: z.number().int().nonnegative(),
      }),
      timeoutMs: 60_000,
      idleTimeoutMs: 2_000,
      errors: {
        OutOfReach: { code: 4001, description: "The target is outside the arm's reach.", data: z.object({ max_reach_m: z.number() }) },
        EmergencyStop: { code: 4002, description: "The emergency stop is engaged." },
      },
    },
    pick: {
      description: "Pick up an object.",
      params: z.object({
        object_id: z.string().min(1).describe("Vision system id of the object"),
        shape: Shape.describe("What the gripper should expect"),
        grip: z.union([z.literal("soft"), z.literal("firm"), z.number().min(0).max(100)]).describe("A named grip, or a force in newtons"),
        label: z.string().nullable().describe("Label to print on the bin, if any"),
      }),
      result: z.object({ held: z.boolean(), weight_g: z.number().optional() }),
      errors: {
        EmergencyStop: { code: 4002, description: "The emergency stop is engaged." },
        NothingThere: { code: 4010, description: "No object with that id is in view.", data: z.object({ seen: z.array(z.string()) }) },
      },
    },
    joint_angles: {
      description: "Current joint angles, base first.",
      params: z.object({}),
      result: z.array(z.number()).describe("Radians"),
    },
    tool_info: {
      description: "What is mounted on the flange.",
      params: z.object({}),
      result: z.union([z.null(), z.object({ tool: z.string(), serial: z.string(), meta: z.record(z.string(), z.string()) })]),
    },
  },
  notifications: {
    status_changed: {
      description: "The arm's state changed.",
      params: z.object({
        state: z.enum(["idle", "moving", "holding", "fault"]),
        at: Timestamp,
        detail: z.string().optional(),
      }),
    },
  },
});
