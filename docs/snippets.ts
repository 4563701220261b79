/**
 * Code blocks in the README and docs/ come from files: a `<!-- snippet: path#region -->` line above a block
 * names the file (or the lines between `#region name` and `#endregion name` in it). `npm run docs:snippets`
 * copies each file into its block; test/docs.test.ts fails when a block and its file differ.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Languages whose blocks are code that must come from a file; shell and plain blocks are commands and output. */
const CODE = new Set(["ts", "typescript", "js", "javascript", "mjs", "json", "jsonc"]);
const MARKER = /^<!-- snippet: ([^#\s]+)(?:#([\w-]+))? -->$/;

/** The README and every Markdown file in docs/, relative to the repository root. */
export function documents(): string[] {
  return ["README.md", ...readdirSync(join(repoRoot, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];
}

export interface CodeBlock {
  document: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The block's lines without the fence's indentation. */
  text: string;
  source?: { path: string; region?: string };
  /** 0-based line range of the body in the document, and the fence's indentation. */
  body: { from: number; to: number; indent: string };
}

export function codeBlocks(document: string): CodeBlock[] {
  const lines = readFileSync(join(repoRoot, document), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const start = i;
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++);
    if (!CODE.has(open[2]!)) continue;
    let above = start - 1;
    while (above >= 0 && lines[above]!.trim() === "") above--;
    const marker = above >= 0 ? MARKER.exec(lines[above]!.trim()) : null;
    const text = lines.slice(start + 1, i).map((line) => line.slice(indent.length)).join("\n");
    blocks.push({
      document,
      line: start + 1,
      lang: open[2]!,
      text,
      body: { from: start + 1, to: i, indent },
      ...(marker ? { source: { path: marker[1]!, ...(marker[2] ? { region: marker[2] } : {}) } } : {}),
    });
  }
  return blocks;
}

/** A file, or the lines between `#region name` and `#endregion name` in it, without their common indentation. */
export function snippet(path: string, region?: string): string {
  const text = readFileSync(join(repoRoot, path), "utf8");
  if (region === undefined) return text.replace(/\n$/, "");
  const lines = text.split("\n");
  const start = lines.findIndex((line) => new RegExp(`#region ${region}\\s*$`).test(line));
  const end = lines.findIndex((line, i) => i > start && new RegExp(`#endregion ${region}\\s*$`).test(line));
  if (start < 0 || end < 0) throw new Error(`${path} has no #region ${region} … #endregion ${region}`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((line) => line.trim() !== "").map((line) => /^\s*/.exec(line)![0].length));
  return body.map((line) => line.slice(indent)).join("\n");
}

/** Copy every marked snippet into its block; returns the documents that changed. */
export function syncSnippets(): string[] {
  const changed: string[] = [];
  for (const document of documents()) {
    const lines = readFileSync(join(repoRoot, document), "utf8").split("\n");
    // From the last block up, so earlier line numbers stay valid.
    for (const block of codeBlocks(document).reverse()) {
      if (!block.source) continue;
      const fresh = snippet(block.source.path, block.source.region).split("\n").map((line) => (line ? block.body.indent + line : line));
      lines.splice(block.body.from, block.body.to - block.body.from, ...fresh);
    }
    const text = lines.join("\n");
    if (text !== readFileSync(join(repoRoot, document), "utf8")) {
      writeFileSync(join(repoRoot, document), text);
      changed.push(document);
    }
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const changed = syncSnippets();
  console.log(changed.length ? `docs:snippets: updated ${changed.join(", ")}` : "docs:snippets: every snippet is up to date");
}
