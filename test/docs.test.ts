/**
 * Every code block in the README and docs/ is a file (or a `#region` of one) that the tests compile or run:
 * the block must say which with a `<!-- snippet: path#region -->` line above it, and must equal it.
 * Shell blocks (commands) and plain blocks (diagrams, output) are not code and are not checked.
 */
import { afterEach, describe, expect, it } from "vitest";
import { codeBlocks, documents, snippet } from "../docs/snippets.js";
import { Children } from "./helpers/child-process.js";

const blocks = documents().flatMap(codeBlocks);

describe("code in the README and docs/", () => {
  it("has code blocks to check", () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  it.each(blocks.map((block) => [`${block.document}:${block.line}`, block] as const))("%s comes from a file the tests compile or run", (_where, block) => {
    expect(block.source, `add <!-- snippet: path#region --> above the block (then npm run docs:snippets) at ${block.document}:${block.line}`).toBeDefined();
    const { path, region } = block.source!;
    // Compiled by `tsc` (tsconfig.json includes contracts/, examples/ but the starter, and bench/), the starter by
    // test/consumer.test.ts in a fresh project, plugin manifests read by test/plugins.test.ts, and the rest run below.
    expect(path).toMatch(/^(contracts|examples|bench|test\/fixtures)\//);
    expect(block.text, "run npm run docs:snippets").toBe(snippet(path, region));
  });
});

describe("snippets that run", () => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("examples/snippets/shared-group.ts spreads calls over the two instances of a group and stops cleanly", async () => {
    const run = await children.startTs("examples/snippets/shared-group.ts", []).exit();
    expect(run.stdout).toBe("jobs-1 routes requests as instances\njobs-2 routes requests as instances\njobs-1 jobs-1 jobs-2 jobs-2\n");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("examples/snippets/openmas-agent.ts calls one agent in OpenMAS's built-in format and one in JSON-RPC", async () => {
    const run = await children.startTs("examples/snippets/openmas-agent.ts", []).exit();
    expect(run.stdout).toBe("{ steps: [ 'reach the dock' ] }\npong\nMethod not found: fly (OpenMAS code 404)\n");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("examples/snippets/streams.ts streams tokens, then cancels a stream by breaking out, and the handler hears it", async () => {
    const run = await children.startTs("examples/snippets/streams.ts", []).exit();
    expect(run.stdout).toBe(
      'You asked "Why is the sky blue?". The sky is blue because air scatters blue light more than red.\n' +
        "{ tokens: 19, stopped: 'end' }\n" +
        'You asked "Tell me\n' +
        "llm: the caller went away; stopping\n",
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("examples/snippets/embedded-broker.ts starts a broker on a free port, prints its URL and closes it", async () => {
    const run = await children.startTs("examples/snippets/embedded-broker.ts", []).exit();
    expect(run.stdout).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+\n$/);
    expect(run.code).toBe(0);
  });

  it("bench/hidden-class-probe.js prints whether V8 kept one hidden class", async () => {
    const run = await children.start(process.execPath, ["--allow-natives-syntax", "bench/hidden-class-probe.js"]).exit();
    expect(run.stdout).toMatch(/^v\d+\.\d+\.\d+: same hidden class: (true|false)\n$/);
    expect(run.code).toBe(0);
  });
});
