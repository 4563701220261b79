/** Text forms for people: durations, tables, and JSON Schemas as TypeScript-like types. */

/** `3d 4h`, `2h 05m`, `4m 02s`, `12s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m, s] = [Math.floor(seconds / 86_400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  if (m > 0) return `${m}m ${two(s)}s`;
  return `${s}s`;
}

/** Rows as columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n");
}

type Schema = Record<string, unknown>;

/** A JSON Schema as a short TypeScript-like type: `{ a: string; b?: number[] }`, `"x" | "y"`. */
export function schemaText(schema: unknown, depth = 0): string {
  if (schema === true || schema === undefined || (typeof schema === "object" && schema !== null && Object.keys(schema).length === 0)) return "unknown";
  if (typeof schema !== "object" || schema === null) return "unknown";
  const s = schema as Schema;
  if (depth > 6) return "…";
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((value) => JSON.stringify(value)).join(" | ");
  for (const key of ["anyOf", "oneOf"]) {
    if (Array.isArray(s[key])) return (s[key] as unknown[]).map((member) => schemaText(member, depth + 1)).join(" | ");
  }
  if (Array.isArray(s.allOf)) return (s.allOf as unknown[]).map((member) => schemaText(member, depth + 1)).join(" & ");
  if (typeof s.$ref === "string") return s.$ref.split("/").at(-1) || "unknown";
  const type = s.type;
  if (Array.isArray(type)) return type.map((t) => schemaText({ ...s, type: t }, depth + 1)).join(" | ");
  switch (type) {
    case "string":
      return s.format ? `string (${String(s.format)})` : "string";
    case "integer":
      return "integer";
    case "number":
    case "boolean":
    case "null":
      return type;
    case "array":
      if (Array.isArray(s.prefixItems)) return `[${(s.prefixItems as unknown[]).map((item) => schemaText(item, depth + 1)).join(", ")}]`;
      return `${wrap(schemaText(s.items, depth + 1))}[]`;
    case "object": {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const fields = Object.entries(properties).map(([name, property]) => `${name}${required.has(name) ? "" : "?"}: ${schemaText(property, depth + 1)}`);
      const extra = s.additionalProperties;
      if (typeof extra === "object" && extra !== null) fields.push(`[key: string]: ${schemaText(extra, depth + 1)}`);
      return fields.length === 0 ? "{}" : `{ ${fields.join("; ")} }`;
    }
  }
  return "unknown";
}

function wrap(text: string): string {
  return text.includes(" | ") || text.includes(" & ") ? `(${text})` : text;
}
