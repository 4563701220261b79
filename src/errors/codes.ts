/**
 * JSON-RPC 2.0 error codes used on the wire. This is the only place the numbers live.
 *
 * Codes from -32768 to -32000 are reserved by JSON-RPC; -32099 to -32000 are "server error"
 * codes available to implementations. Application errors may use any other integer.
 */
export const ErrorCode = {
  /** The payload was not valid JSON. */
  ParseError: -32700,
  /** The payload was JSON but not a valid JSON-RPC 2.0 request object. */
  InvalidRequest: -32600,
  /** No handler is registered for the requested method. */
  MethodNotFound: -32601,
  /** The params were not an object, or failed the method's schema. */
  InvalidParams: -32602,
  /** The server failed outside the handler, e.g. the handler's result broke the contract. */
  InternalError: -32603,
  /** The handler threw an error that carried no code of its own. */
  HandlerError: -32000,
  /**
   * The server turned the request away without running it: its handlers and its wait queue were full
   * (`overload: "reject"`). Nothing ran, so the call may be sent again, later or to another instance.
   */
  Overloaded: -32001,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const names = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** The symbolic name of a code, e.g. `InvalidParams` for -32602, or `undefined` for an application code. */
export function errorCodeName(code: number): string | undefined {
  return names.get(code);
}
