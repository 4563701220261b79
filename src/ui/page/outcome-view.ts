/**
 * What a call came back with: its result, or its error with code, message and data, or a stream's items as
 * they arrive (the last `MAX_ITEMS` of them) and then its result.
 */
import { errorCodeName } from "../../errors/codes.js";
import { RpcError } from "../../errors/errors.js";
import { el, jsonText, replace, short } from "./dom.js";
import type { Issue } from "./params-form.js";

/** Stream items shown at most; older ones make room for newer. */
export const MAX_ITEMS = 200;

export class OutcomeView {
  readonly element = el("div", { class: "outcome" });
  private items: HTMLOListElement | undefined;
  private itemCount = 0;

  pending(what: string): void {
    this.items = undefined;
    replace(this.element, el("p", { class: "pending" }, what));
  }

  result(result: unknown, elapsedMs: number): void {
    const status = el("p", { class: "ok" }, `result in ${Math.round(elapsedMs)} ms`);
    if (this.items === undefined) replace(this.element, status, el("pre", { class: "result" }, jsonText(result)));
    else this.element.append(status, el("pre", { class: "result" }, jsonText(result)));
  }

  sent(what: string): void {
    this.items = undefined;
    replace(this.element, el("p", { class: "ok sent" }, what));
  }

  /** Show `error`; returns the validation issues it names, for the form to mark. */
  error(error: unknown): Issue[] {
    const box = el("div", { class: "error" });
    if (error instanceof RpcError) {
      const name = errorCodeName(error.code);
      box.append(
        el("p", { class: "error-head" }, el("span", { class: "error-code" }, String(error.code)), name === undefined ? "" : ` ${name}`, ": ", el("span", { class: "error-message" }, short(error.message, 2_000))),
      );
      if (error.data !== undefined) box.append(el("pre", { class: "error-data" }, jsonText(error.data)));
    } else {
      const name = error instanceof Error ? error.name : "Error";
      box.append(el("p", { class: "error-head" }, `${name}: `, el("span", { class: "error-message" }, short(error instanceof Error ? error.message : String(error), 2_000))));
    }
    if (this.items === undefined) replace(this.element, box);
    else this.element.append(box);
    return error instanceof RpcError ? issuesOf(error.data) : [];
  }

  /** A stream started: items go into a list, and `cancel` is what the Cancel button does. */
  streamStarted(cancel: () => void): HTMLButtonElement {
    this.items = el("ol", { class: "items" });
    this.itemCount = 0;
    const button = el("button", { class: "cancel", type: "button", onclick: () => cancel() }, "Cancel");
    replace(this.element, el("p", { class: "pending" }, "streaming… ", button), el("p", { class: "item-count" }, "0 items"), this.items);
    return button;
  }

  item(item: unknown): void {
    if (this.items === undefined || !this.element.contains(this.items)) return;
    this.itemCount++;
    this.items.append(el("li", {}, el("code", {}, short(JSON.stringify(item) ?? "undefined", 1_000))));
    while (this.items.childElementCount > MAX_ITEMS) this.items.firstElementChild!.remove();
    const count = this.element.querySelector(".item-count");
    if (count) count.textContent = `${this.itemCount} item${this.itemCount === 1 ? "" : "s"}`;
  }

  streamEnded(): void {
    this.element.querySelector(".cancel")?.remove();
    this.element.querySelector(".pending")?.remove();
  }
}

/** The `issues` of a validation error's data, as far as they are well formed. */
function issuesOf(data: unknown): Issue[] {
  const issues = (data as { issues?: unknown } | null | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues
    .filter((issue): issue is Issue => issue !== null && typeof issue === "object" && Array.isArray(issue.path) && issue.path.every((key: unknown) => typeof key === "string" || typeof key === "number") && typeof issue.message === "string")
    .slice(0, 50);
}
