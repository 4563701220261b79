/**
 * The codegen cache: per contract module, the key of what its output depends on (`cache-key.ts`), its
 * services' models and their generated files. One JSON file per project root, written whole and
 * atomically (a temporary file renamed over it). A file that does not parse, does not match the schema,
 * was written for another root or another codegen, or whose checksum does not match its content is
 * ignored (and replaced by the next run), never trusted.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { CACHE_FORMAT, sha256 } from "./cache-key.js";
import type { GeneratedFile, ServiceModel } from "./model.js";

/** One contract module in the cache: its key, and each of its services with its generated files. */
export interface CacheEntry {
  key: string;
  services: { model: ServiceModel; files: GeneratedFile[] }[];
}

const schemaModel = z.object({ zod: z.union([z.literal(3), z.literal(4)]), jsonSchema: z.record(z.string(), z.unknown()), type: z.string(), inputType: z.string().optional() }).strict();
const errorModel = z.object({ name: z.string(), code: z.number(), description: z.string().optional(), data: schemaModel.optional() }).strict();
const serviceModel = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    version: z.string().optional(),
    file: z.string(),
    exportName: z.string(),
    methods: z.array(
      z
        .object({
          name: z.string(),
          description: z.string().optional(),
          timeoutMs: z.number().optional(),
          idleTimeoutMs: z.number().optional(),
          params: schemaModel,
          yields: schemaModel.optional(),
          result: schemaModel,
          errors: z.array(errorModel),
        })
        .strict(),
    ),
    notifications: z.array(z.object({ name: z.string(), description: z.string().optional(), params: schemaModel }).strict()),
  })
  .strict();
const generatedFile = z.object({ path: z.string(), content: z.string() }).strict();
const cacheFile = z
  .object({
    format: z.literal(CACHE_FORMAT),
    context: z.string(),
    root: z.string(),
    entries: z.record(z.string(), z.object({ key: z.string(), services: z.array(z.object({ model: serviceModel, files: z.array(generatedFile) }).strict()) }).strict()),
    checksum: z.string(),
  })
  .strict();

/** What was read: usable entries, or why the file was ignored. */
export type CacheRead = { entries: Map<string, CacheEntry> } | { entries: Map<string, CacheEntry>; ignored: string };

/** The cache file of project `root` in `dir`: one per root, so that projects sharing a cache folder do not evict each other. */
export function cacheFilePath(dir: string, root: string): string {
  return join(dir, `codegen-${sha256(root).slice(0, 16)}.json`);
}

/** Read and check the cache; a missing file is an empty cache, a bad one is ignored with the reason. */
export async function readCache(path: string, root: string, context: string): Promise<CacheRead> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return { entries: new Map() };
  }
  const ignore = (reason: string): CacheRead => ({ entries: new Map(), ignored: `${path}: ${reason}` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return ignore("not JSON");
  }
  const checked = cacheFile.safeParse(parsed);
  if (!checked.success) return ignore(`not a codegen cache of format ${CACHE_FORMAT} (${checked.error.issues[0]?.path.join(".") || "top"}: ${checked.error.issues[0]?.message})`);
  // The checksum covers the text as written: the parsed JSON, not the schema's (reordered) copy of it.
  const { checksum, ...raw } = parsed as Record<string, unknown>;
  if (checksum !== sha256(JSON.stringify(raw))) return ignore("its checksum does not match its content");
  const body = raw as Omit<z.infer<typeof cacheFile>, "checksum">;
  if (body.root !== root) return ignore(`written for another project (${body.root})`);
  // Another codegen, zod, TypeScript or set of options: its entries would never match; drop them quietly.
  if (body.context !== context) return { entries: new Map() };
  return { entries: new Map(Object.entries(body.entries) as [string, CacheEntry][]) };
}

/** Write the cache whole; a failure to write (a read-only folder) costs the next run its speed, nothing else. */
export async function writeCache(path: string, root: string, context: string, entries: ReadonlyMap<string, CacheEntry>): Promise<string | undefined> {
  const body = { format: CACHE_FORMAT, context, root, entries: Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b))) };
  const text = JSON.stringify({ ...body, checksum: sha256(JSON.stringify(body)) });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(temporary, text);
    await rename(temporary, path);
    return undefined;
  } catch (error) {
    return `cannot write the cache ${path}: ${(error as Error).message}`;
  }
}
