/**
 * The client path loads in a browser: a generated client, bundled with esbuild for the browser from this
 * repository, pulls in no Node built-in and none of the embedded broker, agents, plugins, CLI or codegen;
 * its size is reported and bounded. src/platform/, which stands in for Node's Buffer, crypto and timers,
 * gives Node's answers where there is no Buffer, no process and no crypto.randomUUID (a page over plain http).
 * From the packed tarball: test/consumer.test.ts. In a real browser: test/browser-example.test.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { bundleForBrowser, kib } from "./helpers/browser-bundle.js";
import { PACKAGE_VERSION } from "../src/version.js";

const SOURCE = ["@mqtt-contracts/source"];
/** What must never reach a browser bundle. */
const NODE_ONLY = /^(src\/(broker|cli|agent|plugins)\/|src\/package-info\.ts|codegen\/)|(^|\/)node_modules\/(aedes|ts-morph|typescript|tsx|ws|mqemitter-redis|aedes-persistence-redis)\//;

describe("the browser bundle of a generated client", () => {
  it("has no Node built-in and nothing Node-only, and stays under 1.2 MiB minified, 320 KiB gzipped", async () => {
    const bundle = await bundleForBrowser("test/fixtures/browser/generated-client.ts", { conditions: SOURCE });
    console.log(`generated client (example service) + MqttCommunicator + discover, esbuild --platform=browser --minify: ${kib(bundle.minified)}, ${kib(bundle.gzipped)} gzipped`);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs.filter((input) => NODE_ONLY.test(input))).toEqual([]);
    // The browser entry and mqtt.js's own browser build, not the Node entry and mqtt.js's Node build.
    expect(bundle.inputs).toContain("src/browser.ts");
    expect(bundle.inputs).not.toContain("src/index.ts");
    // (node_modules may be a link to another checkout's, which esbuild names by its real path)
    expect(bundle.inputs).toContainEqual(expect.stringMatching(/(^|\/)node_modules\/mqtt\/dist\/mqtt\.esm\.js$/));
    // Today ~880 KiB and ~230 KiB gzipped: zod ~52 %, mqtt.js's browser build ~39 %, the runtime ~12 %.
    expect(bundle.minified).toBeLessThan(1.2 * 1024 * 1024);
    expect(bundle.gzipped).toBeLessThan(320 * 1024);
  });

  it("the check fails on the Node entry, naming the built-ins it imports", async () => {
    const bundle = await bundleForBrowser("src/index.ts", { conditions: SOURCE });
    expect(bundle.builtins).toEqual(expect.arrayContaining([expect.stringMatching(/^node:net \(from \S*src\/broker\/embedded-broker\.ts\)$/), expect.stringMatching(/^node:fs\/promises \(from \S*src\/plugins\/discovery\.ts\)$/)]));
  });
});

describe("src/platform/ without Node", () => {
  const texts = ["", "ascii", "Grüße", "日本語のテキスト", "emoji 😀 and 🧪", "lone \ud800 surrogate", "\udc00 low first", "a".repeat(1000)];

  it("gives Node's answers for UTF-8, hex and SHA-256, and makes random ids, in a context with no Buffer, process or randomUUID", async () => {
    const { code } = await bundleForBrowser("test/fixtures/browser/platform-probe.ts", { conditions: SOURCE, format: "iife" });
    const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
      // What a page over plain http has: Web Crypto without randomUUID (secure contexts only), TextEncoder, TextDecoder, timers.
      const crypto = { getRandomValues: (array: Uint8Array) => globalThis.crypto.getRandomValues(array) };
      const context = { TextEncoder, TextDecoder, crypto, setTimeout, clearTimeout, probe: { texts, done: resolve } };
      try {
        runInNewContext(code, context);
      } catch (error) {
        reject(error);
      }
    });
    const node = (text: string) => Buffer.from(text, "utf8");
    const small = Buffer.alloc(7);
    expect(result).toEqual({
      hasBuffer: false,
      lengths: texts.map((text) => Buffer.byteLength(text)),
      roundTrips: texts.map((text) => node(text).toString("utf8")),
      slices: texts.map((text) => node(text).toString("utf8", 1, 5)),
      hex: texts.map((text) => node(text).toString("hex")),
      written: texts.map((text) => {
        small.fill(0);
        const written = small.write(text, 2);
        return [written, small.subarray(2).toString("hex")];
      }),
      copied: node("copy").toString("hex"),
      sha256: texts.map((text) => createHash("sha256").update(text).digest("hex")),
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      randomHex: expect.stringMatching(/^[0-9a-f]{8}$/),
      env: null,
      unref: 0,
    });
  });
});

it("src/version.ts says package.json's version", () => {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  expect(PACKAGE_VERSION).toBe(manifest.version);
});
