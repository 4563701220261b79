/**
 * A method's params as a form built from their JSON Schema (by @json-editor/json-editor), with the raw JSON
 * beside it. The two follow each other: editing the form rewrites the JSON, and valid JSON typed in the raw
 * editor fills the form. What is sent is the raw JSON, so a value the form would not allow can still be
 * tried (and the service's validation error is then shown at the field it names).
 */
import { JSONEditor } from "@json-editor/json-editor/src/core.js";
import { el, replace } from "./dom.js";

// The form library strips HTML from texts by parsing them with innerHTML into a detached element, which
// loads images (and so runs their handlers) from hostile schemas. Every text it shows goes out through
// textContent anyway, so the page keeps texts as they are instead: nothing is parsed as HTML.
const keepText = (text: unknown) => (text === undefined || text === null ? "" : String(text));
(JSONEditor.AbstractEditor.prototype as { cleanText: unknown }).cleanText = keepText;
(JSONEditor.AbstractTheme.prototype as { cleanText: unknown }).cleanText = keepText;

/** One validation problem as a service reports it in `error.data.issues`. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

interface Editor {
  getValue(): unknown;
  setValue(value: unknown): void;
  getEditor(path: string): { container?: HTMLElement } | null | undefined;
  on(event: string, callback: () => void): void;
  destroy(): void;
  promise: Promise<void>;
}

export class ParamsForm {
  readonly element: HTMLElement;
  private readonly raw: HTMLTextAreaElement;
  private readonly rawProblem: HTMLElement;
  private readonly formHolder: HTMLElement;
  private readonly editor: Editor;
  private readonly marks: HTMLElement[] = [];
  /** Whichever the user edited last, the form or the raw JSON, is what is sent. */
  private formIsSource = true;

  constructor(schema: Record<string, unknown>) {
    this.formHolder = el("div", { class: "form" });
    this.raw = el("textarea", { class: "raw", spellcheck: "false", "aria-label": "params as JSON", rows: 8 });
    this.rawProblem = el("div", { class: "raw-problem" });
    this.element = el("div", { class: "params" }, this.formHolder, el("div", { class: "raw-holder" }, el("label", {}, "JSON"), this.raw, this.rawProblem));
    this.editor = new JSONEditor(this.formHolder, {
      schema,
      theme: "html",
      iconlib: null,
      ajax: false,
      disable_edit_json: true,
      disable_properties: true,
      disable_collapse: true,
      disable_array_delete_all_rows: true,
      disable_array_delete_last_row: true,
      prompt_before_delete: false,
      show_opt_in: true,
      no_additional_properties: true,
      use_default_values: true,
      show_errors: "change",
    }) as unknown as Editor;
    // Whichever the user edited last is the source: a change of the form made from typed JSON must not
    // overwrite that JSON with the form's reading of it (a number typed for a string, say).
    for (const event of ["input", "change", "click"]) this.formHolder.addEventListener(event, () => (this.formIsSource = true));
    this.editor.on("change", () => {
      if (!this.formIsSource) return;
      this.raw.value = JSON.stringify(this.editor.getValue(), null, 2);
      this.rawProblem.textContent = "";
    });
    this.raw.addEventListener("input", () => {
      this.formIsSource = false;
      const parsed = this.parseRaw();
      if (typeof parsed === "string") {
        this.rawProblem.textContent = parsed;
        return;
      }
      this.rawProblem.textContent = "";
      try {
        this.editor.setValue(parsed);
      } catch {
        // a value the form cannot show; the JSON is still what is sent
      }
    });
  }

  /** Resolves once the form is built. */
  get ready(): Promise<void> {
    return this.editor.promise;
  }

  /** The params to send (the form's value, or the raw JSON if that was edited last), or why they are not a JSON object. */
  params(): Record<string, unknown> | string {
    if (this.formIsSource) {
      // The form's change event comes a frame later: read the form now, and show what is sent.
      const value = this.editor.getValue();
      this.raw.value = JSON.stringify(value, null, 2);
      this.rawProblem.textContent = "";
    }
    return this.parseRaw();
  }

  /** Mark the fields that `issues` name (`["target", "x"]` is the form's `root.target.x`), or the whole form. */
  showIssues(issues: readonly Issue[]): void {
    this.clearIssues();
    for (const issue of issues.slice(0, 50)) {
      const path = ["root", ...issue.path.map(String)];
      let container: HTMLElement | undefined;
      // The deepest field the form has on the path: a missing array item is shown at its array.
      for (let depth = path.length; depth >= 1 && container === undefined; depth--) container = this.editor.getEditor(path.slice(0, depth).join("."))?.container;
      const mark = el("p", { class: "field-issue", "data-path": issue.path.join(".") }, `${issue.path.join(".") || "(params)"}: ${issue.message}`);
      (container ?? this.formHolder).appendChild(mark);
      container?.classList.add("has-issue");
      this.marks.push(mark);
    }
  }

  clearIssues(): void {
    for (const mark of this.marks.splice(0)) {
      mark.parentElement?.classList.remove("has-issue");
      mark.remove();
    }
  }

  destroy(): void {
    this.editor.destroy();
    replace(this.element);
  }

  private parseRaw(): Record<string, unknown> | string {
    const text = this.raw.value.trim();
    if (text === "") return {};
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return "params must be a JSON object";
    return value as Record<string, unknown>;
  }
}
