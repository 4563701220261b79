// The layering of src/ and codegen/, checked by `npm run lint:layers` (part of `npm test`).
// docs/architecture.md explains the layers and the two seams; this file is the enforceable version of it.
//
// Layers, bottom to top (a layer may import the ones below it, never the ones above):
//   foundation     src/errors/, src/log/, src/logger.ts, src/package-info.ts
//   transport      src/transport/            (the Transport seam: interfaces only)
//   wire           src/wire/                 (wire formats behind wire/format.ts)
//   communicator   src/communicator/         (the format-neutral RPC core)
//   contract       src/contract/   instances  src/instances/   (side by side: neither imports the other)
//   mqtt, memory   src/mqtt/, src/memory/    (transports and the concrete communicators; not each other)
//   broker         src/broker/               (embedded aedes broker; foundation only)
//   plugins        src/plugins/
//   agent          src/agent/
//   cli            src/cli/ (and codegen/, which it loads)   src/index.ts (the public entry)
//   ui             src/ui/server.ts (the `ui` command's static web server: foundation only, imported by cli/)
//   ui page        src/ui/page/ (the page, bundled for a browser by src/ui/build.ts): the client path
//                  only, and no Node built-ins; nothing in src/ imports it
//   browser entry  src/browser.ts: the client path, re-exported by src/index.ts; reaches no broker, agent,
//                  plugins, cli, codegen or package-info
//   contract entry src/contract-entry.ts (`mqtt-contracts/contract`): defineService and its types, for
//                  contract modules; reaches src/contract/define-service.ts only
//
// Foundation includes src/platform/ (bytes, random ids, timers, SHA-256 without Node modules) and src/version.ts.
//
// The layer rules are allow-lists ("a file in X may only import from ..."), written as path regexes so that
// they hold for folders that do not exist yet (src/transport/) as soon as files land there. Only imports
// between files in src/ and codegen/ are checked; packages and node: built-ins are not.

const FOUNDATION = "^src/(errors/|log/|platform/|logger\\.ts$|package-info\\.ts$|version\\.ts$)";
const TRANSPORT = "^src/transport/";
const WIRE = "^src/wire/";
const COMMUNICATOR = "^src/communicator/";
const CONTRACT = "^src/contract/";
const INSTANCES = "^src/instances/";
const MQTT = "^src/mqtt/";
const MEMORY = "^src/memory/";
const BROKER = "^src/broker/";
const PLUGINS = "^src/plugins/";
const AGENT = "^src/agent/";
const CLI = "^src/cli/";
const INDEX = "^src/index\\.ts$";
const BROWSER = "^src/browser\\.ts$";
const CONTRACT_ENTRY = "^src/contract-entry\\.ts$";
/** What the browser entry must never reach: Node-only layers and files. */
const BROWSER_FORBIDDEN = "^src/(broker/|agent/|plugins/|cli/|package-info\\.ts$)|^codegen/";
const UI_SERVER = "^src/ui/(?!page/)";
const UI_PAGE = "^src/ui/page/";
const CODEGEN = "^codegen/";
/** Anything in src/ or codegen/: the universe an allow-list is checked against. */
const OURS = "^(src|codegen)/";

/** A rule that lets files matching `from` import files in src/ and codegen/ only when they match one of `allowed`. */
function layer(name, from, allowed, comment) {
  return { name, severity: "error", comment, from: { path: from }, to: { path: OURS, pathNot: [from, ...allowed] } };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "Import cycles (type-only ones too) make load order fragile and glue modules together so they cannot be moved or tested apart: cut the cycle by moving the shared piece down a layer.",
      from: {},
      to: { circular: true },
    },
    layer(
      "foundation-imports-nothing",
      FOUNDATION,
      [],
      "Errors, logging and package info sit under everything else, so they must not import any other part of src/ or codegen/ (that would make every layer depend on it).",
    ),
    layer(
      "transport-only-foundation",
      TRANSPORT,
      [FOUNDATION],
      "src/transport/ is the Transport seam (interfaces only) that MQTT and in-memory transports implement, so it may depend on the foundation and nothing else.",
    ),
    layer(
      "wire-only-foundation-transport",
      WIRE,
      [FOUNDATION, TRANSPORT],
      "Wire formats (JSON-RPC, OpenMAS) encode and decode messages and must not know about the communicator, contracts or transports' implementations, so they import only the foundation and src/transport/.",
    ),
    layer(
      "communicator-below-contract-and-instances",
      COMMUNICATOR,
      [FOUNDATION, TRANSPORT, WIRE],
      "The communicator is the format-neutral RPC core: it reaches formats through wire/, transports through the Transport seam and membership through a port it defines, so it must not import contract/, instances/, the concrete transports, broker, plugins, agent, cli or codegen.",
    ),
    layer(
      "contract-only-core",
      CONTRACT,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR],
      "Contracts describe services on top of the RPC core and must work with any transport, so they import only the foundation, transport, wire and communicator layers (not instances/, mqtt/, memory/, broker, plugins, agent, cli or codegen).",
    ),
    layer(
      "instances-only-core",
      INSTANCES,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR],
      "instances/ implements the communicator's membership port (groups, presence, discovery records, stats, catalog) and so builds on the core only, never on contract/, the concrete transports, broker, plugins, agent, cli or codegen.",
    ),
    layer(
      "mqtt-not-above-core",
      MQTT,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR, INSTANCES],
      "The MQTT transport and communicator wire the core to a broker; they may use the core and instances/ but not memory/, contract/, broker, plugins, agent, cli or codegen, so each transport stays swappable.",
    ),
    layer(
      "memory-not-above-core",
      MEMORY,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR, INSTANCES],
      "The in-memory transport and communicator wire the core to a local bus; they may use the core and instances/ but not mqtt/, contract/, broker, plugins, agent, cli or codegen, so each transport stays swappable.",
    ),
    layer(
      "broker-only-foundation",
      BROKER,
      [FOUNDATION],
      "The embedded aedes broker is a stand-alone MQTT server that knows nothing about RPC, so it imports only the foundation.",
    ),
    layer(
      "plugins-below-agent",
      PLUGINS,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR, CONTRACT, INSTANCES, MQTT, MEMORY, BROKER],
      "Plugins choose and build communicators, so they may use every library layer including mqtt/ and memory/, but not agent/, cli/, src/index.ts or codegen (those sit above them).",
    ),
    layer(
      "agent-below-cli",
      AGENT,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR, CONTRACT, INSTANCES, MQTT, MEMORY, BROKER, PLUGINS],
      "The agent base class is library code built on plugins and everything below them; it must not import cli/, src/index.ts or codegen, which are entry points above it.",
    ),
    layer(
      "ui-server-only-foundation",
      UI_SERVER,
      [FOUNDATION],
      "The web server of `mqtt-contracts ui` serves the built page as static files and knows nothing about RPC, so it imports only the foundation; src/cli/ starts it.",
    ),
    layer(
      "ui-page-is-the-client-path",
      UI_PAGE,
      [FOUNDATION, TRANSPORT, WIRE, COMMUNICATOR, INSTANCES, MQTT],
      "The page of `mqtt-contracts ui` runs in a browser on the runtime's client path (the MQTT communicator, discovery records, OpenRPC, stats, errors): never the embedded broker, agent, plugins, cli, codegen, contract/ (it calls by schema, not by contract) or package-info.",
    ),
    {
      name: "ui-page-reaches-no-node-only-code",
      severity: "error",
      comment:
        "The page of `mqtt-contracts ui` is bundled for a browser: nothing it reaches, directly or further down, may be the embedded broker, agent, plugins, CLI, codegen or package-info. Node built-ins on its path fail its esbuild build (platform browser), which the UI tests run.",
      from: { path: UI_PAGE },
      to: { path: [BROWSER_FORBIDDEN], reachable: true },
    },
    {
      name: "nothing-imports-the-ui-page",
      severity: "error",
      comment: "src/ui/page/ is an entry of its own, bundled for a browser; Node code must not import it (it needs the DOM).",
      from: { path: OURS, pathNot: UI_PAGE },
      to: { path: UI_PAGE },
    },
    {
      name: "only-cli-imports-codegen",
      severity: "error",
      comment:
        "codegen/ (ts-morph, the TypeScript compiler) is heavy and only the CLI needs it, so no library code in src/ may import it; src/cli/ loads it lazily.",
      from: { path: "^src/", pathNot: CLI },
      to: { path: CODEGEN },
    },
    {
      name: "nothing-imports-index",
      severity: "error",
      comment:
        "src/index.ts is the public entry that re-exports the library; importing it from inside src/ or codegen/ creates hidden cycles, so import the module that defines the thing instead.",
      from: { path: OURS, pathNot: INDEX },
      to: { path: INDEX },
    },
    {
      name: "only-index-imports-browser-entry",
      severity: "error",
      comment:
        "src/browser.ts is the browser entry (the client path); src/index.ts re-exports it for Node. Importing it from anywhere else creates hidden cycles, so import the module that defines the thing instead.",
      from: { path: OURS, pathNot: [INDEX, BROWSER] },
      to: { path: BROWSER },
    },
    layer(
      "contract-entry-is-define-service-only",
      CONTRACT_ENTRY,
      ["^src/contract/define-service\\.ts$"],
      "src/contract-entry.ts (`mqtt-contracts/contract`) is what contract modules import: defineService and its types. Anything more it reached would load with every contract and come into codegen's type check of it.",
    ),
    {
      name: "browser-entry-is-the-client-path",
      severity: "error",
      comment:
        "The browser entry must load in a browser: nothing it reaches, directly or further down, may be the embedded broker, the agent, plugins (they read node_modules), the CLI, codegen or package-info (the file system). Node built-ins on its path are caught by test/browser-bundle.test.ts, which bundles it for a browser.",
      from: { path: BROWSER },
      to: { path: [BROWSER_FORBIDDEN], reachable: true },
    },
    {
      name: "codegen-only-contract-wire-foundation",
      severity: "error",
      comment:
        "The code generator reads contracts and writes stubs, so from src/ it may use only the foundation, wire/, contract/ and communicator/defaults.ts; in particular never src/cli/ (the CLI calls codegen, not the other way round).",
      from: { path: CODEGEN },
      to: { path: "^src/", pathNot: [FOUNDATION, WIRE, CONTRACT, "^src/communicator/defaults\\.ts$"] },
    },
  ],
  options: {
    // Checked: what `npm run lint:layers` passes (src codegen). Tests, bench and examples are not cruised.
    includeOnly: OURS,
    doNotFollow: { path: "node_modules" },
    // Count `import type` and other imports that vanish when compiling, so type-only cycles and arrows are caught.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["@mqtt-contracts/source", "import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
