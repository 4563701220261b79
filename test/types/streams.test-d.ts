/**
 * Generated code for streaming methods, checked by the compiler: a client's `CallStream` carries the
 * parsed (`z.output`) item and result types, and a handler that yields a wrong item, returns a wrong
 * result, or is not a generator does not compile. Each `@ts-expect-error` fails the type check if the
 * line below it compiles. The counter service is the golden output in `test/fixtures/codegen-streams`.
 */
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { CallStream, Communicator, HandlerContext } from "mqtt-contracts";
import { RobotArmService } from "../../contracts/robot-arm.js";
import { CounterService } from "../fixtures/codegen-streams/contracts/counter.js";
import {
  CounterServiceClient,
  registerCounterService,
  type CounterCountItem,
  type CounterCountResult,
  type CounterServiceHandlers,
  type CounterTicksItem,
} from "../fixtures/codegen-streams/generated/counter.js";
import type * as G from "../../generated/index.js";

declare const communicator: Communicator;
const C = CounterService.methods;
const R = RobotArmService.methods;

/** Handlers that compile, for the cases below to spread and change one of. */
const handlers = {
  async *count({ n }) {
    for (let i = 0; i < n; i++) yield { i };
    return { total: n };
  },
  async *tail() {
    yield "a line";
    return null;
  },
  async *ticks(_params, context) {
    expectTypeOf(context).toEqualTypeOf<HandlerContext>();
    yield { n: 0, at: new Date() };
    return { stopped_at: new Date() };
  },
  reset: () => ({ ok: true }),
} satisfies CounterServiceHandlers;

describe("streaming clients", () => {
  it("return a CallStream of the parsed item and result types (z.output)", async () => {
    const client = new CounterServiceClient(communicator, "counter");
    const stream = client.count({ n: 3, delayMs: 0 });
    expectTypeOf(stream).toEqualTypeOf<CallStream<CounterCountItem, CounterCountResult>>();
    expectTypeOf(stream).toEqualTypeOf<CallStream<z.output<typeof C.count.yields>, z.output<typeof C.count.result>>>();
    for await (const item of stream) expectTypeOf(item).toEqualTypeOf<{ i: number }>();
    expectTypeOf(await stream.result).toEqualTypeOf<{ total: number }>();
    expectTypeOf(stream.cancel).parameters.toEqualTypeOf<[reason?: unknown]>();

    // With a codec the output side differs from the wire side: items arrive decoded.
    const ticks = client.ticks({ every_ms: 100 });
    expectTypeOf(ticks).toEqualTypeOf<CallStream<z.output<typeof C.ticks.yields>, z.output<typeof C.ticks.result>>>();
    expectTypeOf<CounterTicksItem>().toEqualTypeOf<z.output<typeof C.ticks.yields>>();
    expectTypeOf<CounterTicksItem["at"]>().toEqualTypeOf<Date>();
    expectTypeOf<CounterTicksItem>().not.toEqualTypeOf<z.input<typeof C.ticks.yields>>();
  });

  it("take stream options and the params' input type, and check the params", () => {
    const client = new CounterServiceClient(communicator, "counter");
    client.tail({}, { idleTimeoutMs: 1_000, credit: 8, signal: AbortSignal.timeout(5_000) });
    // @ts-expect-error: `n` must be a number
    client.count({ n: "3", delayMs: 0 });
    // @ts-expect-error: `credit` is a stream option; a plain call has none
    client.reset({}, { credit: 8 });
    // @ts-expect-error: a stream is not a promise of the result
    const notAPromise: Promise<CounterCountResult> = client.count({ n: 1, delayMs: 0 });
    void notAPromise;
  });

  it("robot_arm.move_with_feedback: the item type equals z.output of its yields", () => {
    expectTypeOf<G.RobotArmMoveWithFeedbackItem>().toEqualTypeOf<z.output<typeof R.move_with_feedback.yields>>();
    expectTypeOf<G.RobotArmMoveWithFeedbackResult>().toEqualTypeOf<z.output<typeof R.move_with_feedback.result>>();
    expectTypeOf<G.RobotArmServiceClient["move_with_feedback"]>().parameter(0).toEqualTypeOf<G.RobotArmMoveWithFeedbackParamsInput>();
    expectTypeOf<G.RobotArmServiceClient["move_with_feedback"]>().returns.toEqualTypeOf<CallStream<G.RobotArmMoveWithFeedbackItem, G.RobotArmMoveWithFeedbackResult>>();
  });
});

describe("streaming handlers", () => {
  it("async generators of the right item and result compile, and registration takes them", () => {
    registerCounterService(communicator, handlers);
    expectTypeOf<CounterServiceHandlers["count"]>().returns.toEqualTypeOf<AsyncGenerator<CounterCountItem, CounterCountResult, undefined>>();
  });

  it("a handler that yields a wrong item does not compile", () => {
    registerCounterService(communicator, {
      ...handlers,
      // @ts-expect-error: it yields { i: string }; `i` must be a number
      async *count({ n }) {
        yield { i: String(n) };
        return { total: n };
      },
    });
    registerCounterService(communicator, {
      ...handlers,
      // @ts-expect-error: it yields `at` as a string; in code `at` is a Date (the codec makes the string)
      async *ticks() {
        yield { n: 0, at: "2031-05-06T07:08:09.123Z" };
        return { stopped_at: new Date() };
      },
    });
  });

  it("a handler that returns a wrong result does not compile", () => {
    registerCounterService(communicator, {
      ...handlers,
      // @ts-expect-error: it returns { count }; the result is { total: number }
      async *count({ n }) {
        yield { i: 0 };
        return { count: n };
      },
    });
  });

  it("a streaming handler that is not a generator, or a plain one that is, does not compile", () => {
    registerCounterService(communicator, {
      ...handlers,
      // @ts-expect-error: `count` streams: its handler is an async generator, not a function returning the result
      count: async ({ n }) => ({ total: n }),
    });
    registerCounterService(communicator, {
      ...handlers,
      // @ts-expect-error: `reset` does not stream
      async *reset() {
        return { ok: true as const };
      },
    });
  });

  it("a generator declared apart is checked against the interface too", () => {
    async function* wrongItems(): AsyncGenerator<{ i: string }, CounterCountResult> {
      yield { i: "0" };
      return { total: 1 };
    }
    // @ts-expect-error: its items are not CounterCountItem
    registerCounterService(communicator, { ...handlers, count: wrongItems });
  });
});
