import { RpcError, type CommunicationErrorOptions } from "../errors/errors.js";

/**
 * An application error declared in a contract. Codegen writes one subclass per declared error, so
 * handlers throw `new ArmGripperClosedError(data, message?)` and clients catch it by class, with its
 * `data` typed.
 */
export class ContractError<Name extends string = string, Data = unknown> extends RpcError {
  override name = "ContractError";
  override readonly data: Data;

  constructor(
    /** The error's name in the contract. */
    readonly errorName: Name,
    code: number,
    message: string,
    data: Data,
    options: CommunicationErrorOptions = {},
  ) {
    super(code, message, { ...options, data });
    this.data = data;
  }
}

/** A generated error class: `new Class(data, message?, options?)`; the client builds one from the wire. */
export type ContractErrorClass = new (data: any, message?: string, options?: CommunicationErrorOptions) => ContractError;
