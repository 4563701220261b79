import type { ContractProblem } from "./validate-contracts.js";

/** Contracts that cannot be generated; `problems` says where and why. */
export class ContractsError extends Error {
  constructor(readonly problems: ContractProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in contracts:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ContractsError";
  }
}
