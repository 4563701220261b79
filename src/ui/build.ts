/**
 * Builds the page of `mqtt-contracts ui` into a folder (dist/ui/ for the package): app.js, the page's
 * TypeScript in src/ui/page/ with this package's runtime, @json-editor/json-editor and uPlot bundled by
 * esbuild; app.css; index.html. The versions are pinned in package.json, so the same checkout builds the same
 * files. `npm run build` runs it (and so `npm pack`); tests call `buildUi` into a folder of their own. It is a
 * build step, not part of the package: tsconfig.build.json leaves it out of dist/.
 *
 *   tsx src/ui/build.ts <out dir>
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
const page = join(root, "src/ui/page");
const require = createRequire(import.meta.url);

export interface BuiltUi {
  dir: string;
  /** Bytes of app.js. */
  scriptBytes: number;
}

export async function buildUi(outDir: string): Promise<BuiltUi> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(page, "main.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["browser"],
    minify: true,
    legalComments: "eof",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
    metafile: true,
  });
  const uplotCss = await readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  await writeFile(join(outDir, "app.css"), `${await readFile(join(page, "style.css"), "utf8")}\n/* uPlot (MIT) */\n${uplotCss}\n`);
  await copyFile(join(page, "index.html"), join(outDir, "index.html"));
  const scriptBytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
  return { dir: outDir, scriptBytes };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out === undefined) {
    process.stderr.write("usage: tsx src/ui/build.ts <out dir>\n");
    process.exit(64);
  }
  const built = await buildUi(resolve(out));
  process.stdout.write(`ui: ${built.dir} (app.js ${Math.round(built.scriptBytes / 1024)} KiB)\n`);
}
