/**
 * Building the page's DOM without HTML strings: every text from the network (records, schemas, results,
 * errors) goes in as a text node or an attribute value, never through innerHTML.
 */

type Child = Node | string | number | null | undefined | false;

export interface Attributes {
  class?: string;
  [name: string]: string | number | boolean | undefined | ((event: Event) => void);
}

/** `<tag attrs>children</tag>`; `on<event>` attributes become listeners, strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

/** Remove every child of `node`. */
export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Replace the children of `node`. */
export function replace(node: Node, ...children: Child[]): void {
  clear(node);
  append(node, ...children);
}

/** Text that may be long or hostile, cut to `max` characters for display. */
export function short(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** JSON for display, cut to `max` characters so a huge answer cannot freeze the page. */
export function jsonText(value: unknown, max = 100_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? "undefined";
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}
