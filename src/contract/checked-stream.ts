/** A stream whose items and result are checked against the method's contract as they arrive. */
import type { CallStream } from "../communicator/call-stream.js";
import { ValidationError } from "../errors/errors.js";
import type { AnySchema } from "./define-service.js";
import { parseSchema, summarizeIssues } from "./schema.js";

function noop(): void {}

export class CheckedStream implements CallStream<unknown, unknown> {
  readonly result: Promise<unknown>;

  constructor(
    private readonly inner: CallStream<unknown, unknown>,
    private readonly itemSchema: AnySchema,
    private readonly name: string,
    private readonly target: string,
    onResult: (result: unknown) => unknown,
    /** Turns a declared application error into its generated class (and throws it). */
    private readonly onError: (error: unknown) => never,
  ) {
    this.result = inner.result.then(onResult, onError);
    this.result.catch(noop);
  }

  cancel(reason?: unknown): void {
    this.inner.cancel(reason);
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    const items = this.inner[Symbol.asyncIterator]();
    return {
      next: async () => {
        let next: IteratorResult<unknown>;
        try {
          next = await items.next();
        } catch (error) {
          this.onError(error);
        }
        if (next.done) return next;
        const parsed = parseSchema(this.itemSchema, next.value);
        if (parsed.success) return { value: parsed.data, done: false };
        const error = new ValidationError(`Invalid item from ${this.name}: ${summarizeIssues(parsed.issues)}`, { target: this.target, data: { issues: parsed.issues } });
        this.inner.cancel(error);
        throw error;
      },
      return: (value?: unknown) => items.return?.(value) ?? Promise.resolve({ value, done: true }),
    };
  }
}
