/**
 * The few things the runtime asks of its host that differ between Node and a browser, behind checks
 * instead of imports: the client path must load in a browser, where `process` and Node's modules do
 * not exist and timers are plain numbers.
 */

/** An environment variable, or undefined where there is no `process.env` (a browser). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/**
 * Let a timer not keep Node running. A no-op in a browser, where a timer is a number with no `unref`.
 * Returns the timer.
 */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * A Node built-in module, loaded synchronously without an import statement a bundler would follow
 * (`process.getBuiltinModule`, Node 20.16+), or undefined outside Node.
 */
export function nodeBuiltin<T>(id: string): T | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return process?.getBuiltinModule?.(id) as T | undefined;
}

/** What `runSoon` returns, for `cancelSoon`. */
export type SoonHandle = object | number;

interface ImmediateHost {
  setImmediate?: (fn: () => void) => object;
  clearImmediate?: (handle: object) => void;
}

/**
 * Run `fn` once the I/O already queued has been handled: `setImmediate` in Node, a zero-delay timer in
 * a browser (which has no `setImmediate`). Looked up at each call, so that fake timers in tests apply.
 */
export function runSoon(fn: () => void): SoonHandle {
  const host = globalThis as ImmediateHost;
  return host.setImmediate !== undefined ? host.setImmediate(fn) : setTimeout(fn, 0);
}

/** Cancel what `runSoon` scheduled, if it has not run. */
export function cancelSoon(handle: SoonHandle): void {
  const host = globalThis as ImmediateHost;
  if (typeof handle === "object" && host.clearImmediate !== undefined) host.clearImmediate(handle);
  else clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
}
