// @json-editor/json-editor ships no types; the page uses a few members (see params-form.ts).
declare module "@json-editor/json-editor/src/core.js" {
  export class JSONEditor {
    constructor(element: Element, options: Record<string, unknown>);
    static AbstractEditor: { prototype: object };
    static AbstractTheme: { prototype: object };
  }
}
