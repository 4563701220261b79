/**
 * The web server of `mqtt-contracts ui`, over real HTTP: the built page with its content types and CSP,
 * nothing else (no directory traversal, no other methods), loopback only unless told, and no password in
 * what it gives the page.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { startUiServer } from "../src/ui/server.js";
import type { CliIo } from "../src/cli/cli-io.js";
import { buildUiInTemp, runUi } from "./helpers/ui.js";

let built: Awaited<ReturnType<typeof buildUiInTemp>>;
beforeAll(async () => {
  built = await buildUiInTemp();
}, 120_000);
afterAll(async () => {
  await built?.remove();
});

/** A raw GET (or other method) of `path` as sent, unnormalised, unlike fetch. */
function raw(url: string, path: string, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function recordingIo(): CliIo & { out: (line: string) => void; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => void lines.push(line), err: (line) => void errors.push(line), env: {}, cwd: process.cwd(), waitForStop: () => new Promise(() => {}) };
}

describe("mqtt-contracts ui: the server", () => {
  it("serves the page, its script and styles with their content types and a strict CSP, and nothing else", async () => {
    const ui = await runUi({ url: "ws://127.0.0.1:9/", assetsDir: built.dir });
    try {
      expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await raw(ui.url, "/");
      expect(index.status).toBe(200);
      expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(index.body).toContain('<script type="module" src="app.js"></script>');
      const csp = String(index.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(index.headers["x-content-type-options"]).toBe("nosniff");
      expect((await raw(ui.url, "/app.js")).headers["content-type"]).toBe("text/javascript; charset=utf-8");
      expect((await raw(ui.url, "/app.css")).headers["content-type"]).toBe("text/css; charset=utf-8");
      const config = await raw(ui.url, "/config.json");
      expect(config.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(JSON.parse(config.body)).toEqual({ brokerUrl: "ws://127.0.0.1:9/" });
      for (const path of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/index.html/../../package.json", "//etc/passwd", "/app.js/", "/does-not-exist"]) {
        expect((await raw(ui.url, path)).status, path).toBe(404);
      }
      expect((await raw(ui.url, "/", "POST")).status).toBe(405);
      expect((await raw(ui.url, "/", "HEAD")).status).toBe(200);
    } finally {
      expect(await ui.stop()).toBe(0);
    }
  });

  it("never gives the page a password from --url: the config has the URL without credentials, and says so on stderr", async () => {
    const ui = await runUi({ url: "ws://alice:s3cret-pw@127.0.0.1:9/mqtt", assetsDir: built.dir });
    try {
      const config = await raw(ui.url, "/config.json");
      expect(JSON.parse(config.body)).toEqual({ brokerUrl: "ws://127.0.0.1:9/mqtt" });
      expect(ui.out.join("\n")).not.toContain("s3cret-pw");
      expect(ui.err.join("\n")).toMatch(/password in --url is not given to the page/);
      expect(ui.err.join("\n")).not.toContain("s3cret-pw");
    } finally {
      await ui.stop();
    }
  });

  it("refuses a non-loopback host without --allow-remote (exit 64), and serves there with it", async () => {
    const io = recordingIo();
    expect(await main(["ui", "--host", "0.0.0.0", "--port", "0"], io)).toBe(64);
    expect(io.errors.join("\n")).toMatch(/refusing to serve the UI on 0\.0\.0\.0, which is not a loopback address.*--allow-remote/);
    await expect(startUiServer({ assetsDir: built.dir, host: "0.0.0.0" })).rejects.toThrow(/--allow-remote/);
    const remote = await startUiServer({ assetsDir: built.dir, host: "0.0.0.0", allowRemote: true });
    try {
      expect((await raw(`http://127.0.0.1:${remote.port}/`, "/")).status).toBe(200);
    } finally {
      await remote.close();
    }
    for (const host of ["localhost", "127.0.0.1", "::1"]) expect(await startUiServer({ assetsDir: built.dir, host }).then((s) => s.close().then(() => "ok"), (e: Error) => e.message)).toBe("ok");
  });

  it("takes only a ws:// or wss:// --url: a browser cannot speak MQTT over TCP", async () => {
    const io = recordingIo();
    expect(await main(["ui", "--url", "mqtt://alice:pw@localhost:1883", "--port", "0"], io)).toBe(64);
    expect(io.errors.join("\n")).toMatch(/ui --url must be the broker's WebSocket URL/);
    expect(io.errors.join("\n")).not.toContain(":pw@");
  });
});
