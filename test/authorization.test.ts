/**
 * A broker that checks who connects and what they may do: Mosquitto with TLS (a CA made by the test), a
 * password file and an ACL, driven through the CLI's connection flags and the communicator; and aedes
 * refusing a subscription. Refusals fail at once with what to fix; nothing waits out a timeout.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CommunicationError, MqttCommunicator } from "mqtt-contracts";
import { inProcessStream } from "../src/broker/in-process-stream.js";
import { Children } from "./helpers/child-process.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";
import { makeCertificates, makePasswordFile, type Certificates } from "./helpers/tls.js";

const CLI = "src/cli/main.ts";
const children = new Children();
afterEach(() => children.killAll());

/** Each failure below must come well before this connect timeout: the point is that none waits it out. */
const LONG_CONNECT_TIMEOUT = "60000";
/** Start-up of node and tsx on a loaded 2-core machine, far below the connect timeout above. */
const AT_ONCE_MS = 30_000;

describe("Mosquitto with TLS, a password file and an ACL", () => {
  let dir: string;
  let certs: Certificates;
  let mosquitto: Mosquitto;
  let url: string;
  let server: MqttCommunicator;
  const failTimes: Record<string, number> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-auth-"));
    // Mosquitto started as root drops to its own user, which must read these files.
    await chmod(dir, 0o755);
    certs = makeCertificates(dir);
    const passwords = makePasswordFile(join(dir, "passwords"), { svc: "svc-secret", caller: "caller-secret", example: "example-secret" });
    const acl = join(dir, "acl");
    await writeFile(
      acl,
      [
        "user svc",
        "topic read svc/request/#",
        "topic read svc/notification/#",
        "topic readwrite svc/response/#",
        "topic write mqtt-contracts-cli/response/#",
        "",
        "user caller",
        "topic write svc/request/#",
        "topic write svc/notification/#",
        "topic readwrite mqtt-contracts-cli/response/#",
        "topic read mqtt-contracts-cli/request/#",
        "topic read mqtt-contracts-cli/notification/#",
        "",
        "user example",
        "topic readwrite mqtt_example_agent/#",
        "",
      ].join("\n"),
    );
    for (const file of [passwords, acl, certs.ca, certs.serverCert, certs.serverKey]) await chmod(file, 0o644);
    mosquitto = await startMosquitto({
      config: ["allow_anonymous false", `password_file ${passwords}`, `acl_file ${acl}`, `cafile ${certs.ca}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`],
    });
    // The certificate names localhost, not 127.0.0.1.
    url = `mqtts://localhost:${mosquitto.port}`;
    server = new MqttCommunicator({ agentName: "svc", options: { url, ca: await readFile(certs.ca, "utf8"), username: "svc", password: "svc-secret" }, logger: recordingLogger() });
    server.registerHandler("add", ({ a, b }: { a: number; b: number }) => ({ sum: a + b }));
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    await mosquitto?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`time to fail, CLI process start to exit: ${JSON.stringify(failTimes)}`);
  });

  const cli = (args: string[], env: Record<string, string | undefined> = {}) => children.startTs(CLI, args, { env }).exit(60_000);
  const timed = async (what: string, args: string[], env: Record<string, string | undefined> = {}) => {
    const started = Date.now();
    const run = await cli(args, env);
    failTimes[what] = Date.now() - started;
    return { ...run, ms: failTimes[what] };
  };

  it("calls over TLS with --ca, --username and --password, or with MQTT_USERNAME and MQTT_PASSWORD", async () => {
    const flags = await cli(["call", "svc", "add", '{"a":1,"b":2}', "--url", url, "--ca", certs.ca, "--username", "caller", "--password", "caller-secret"]);
    expect(flags).toMatchObject({ code: 0, stdout: '{"sum":3}\n', stderr: "" });
    const env = await cli(["call", "svc", "add", '{"a":2,"b":2}', "--url", url, "--ca", certs.ca], { MQTT_USERNAME: "caller", MQTT_PASSWORD: "caller-secret" });
    expect(env).toMatchObject({ code: 0, stdout: '{"sum":4}\n', stderr: "" });
  });

  it("fails at once with exit 2 on a wrong password, says what to fix, and prints no password", async () => {
    const run = await timed("bad password", ["call", "svc", "add", "{}", "--url", url, "--ca", certs.ca, "--username", "caller", "--password", "not-the-password", "--connect-timeout", LONG_CONNECT_TIMEOUT], { DEBUG: "mqttjs*" });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refused the connection: (bad user name or password|not authorized) \(code 13[45]\): check the username and password|refused the connection: not authorized \(code 135\): the broker does not let this client connect/);
    expect(`${run.stdout}${run.stderr}`).not.toContain("not-the-password");
    expect(run.ms).toBeLessThan(AT_ONCE_MS);
  });

  it("fails at once with exit 2 on a certificate no given CA signed, and names --ca", async () => {
    const run = await timed("untrusted certificate", ["call", "svc", "add", "{}", "--url", url, "--ca", certs.otherCa, "--username", "caller", "--password", "caller-secret", "--connect-timeout", LONG_CONNECT_TIMEOUT]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("the broker's TLS certificate is not trusted");
    expect(run.stderr).toContain("(the CLI's --ca)");
    expect(run.ms).toBeLessThan(AT_ONCE_MS);
  });

  it("fails at once with exit 2 when the certificate is for another host name", async () => {
    const byAddress = `mqtts://127.0.0.1:${mosquitto.port}`;
    const run = await timed("host name mismatch", ["call", "svc", "add", "{}", "--url", byAddress, "--ca", certs.ca, "--username", "caller", "--password", "caller-secret", "--connect-timeout", LONG_CONNECT_TIMEOUT]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("the broker's TLS certificate is not for this host name (ERR_TLS_CERT_ALTNAME_INVALID)");
    expect(run.ms).toBeLessThan(AT_ONCE_MS);
  });

  it("--insecure accepts a certificate that does not verify", async () => {
    const run = await cli(["call", "svc", "add", '{"a":5,"b":5}', "--url", `mqtts://127.0.0.1:${mosquitto.port}`, "--insecure", "--username", "caller", "--password", "caller-secret"]);
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":10}\n' });
  });

  it("the example takes the same connection flags", async () => {
    const run = await children.startTs("examples/mqtt-example.ts", ["--url", url, "--ca", certs.ca, "--username", "example"], { env: { MQTT_PASSWORD: "example-secret" } }).exit(60_000);
    expect(run.stdout).toContain('echo -> {"original":"Hello from mqtt-contracts!","echo":"Hello from mqtt-contracts!"}');
    expect(run.code).toBe(0);
  });

  it("MQTT 5: a publish the ACL denies fails the call at once, naming the topic and the ACL", async () => {
    const run = await timed("denied publish (MQTT 5)", ["call", "other", "add", "{}", "--url", url, "--ca", certs.ca, "--username", "caller", "--password", "caller-secret", "--protocol", "5", "--timeout", LONG_CONNECT_TIMEOUT]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("refused the publish to other/request/add (reason code 135, not authorized): the broker's ACL does not let this client publish there");
    expect(run.ms).toBeLessThan(AT_ONCE_MS);
  });

  it("MQTT 3.1.1: Mosquitto drops a denied publish silently; the timeout says an ACL may be why", async () => {
    const run = await cli(["call", "other", "add", "{}", "--url", url, "--ca", certs.ca, "--username", "caller", "--password", "caller-secret", "--protocol", "3.1.1", "--timeout", "1000"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no response to add from other within 1000 ms");
    expect(run.stderr).toContain("A broker whose ACL denies this client the publish, or the subscription to its response topic, may drop the messages without an error");
  });

  it("a communicator's start() fails at once on a wrong password", async () => {
    const client = new MqttCommunicator({ agentName: "caller", options: { url, ca: await readFile(certs.ca, "utf8"), username: "caller", password: "wrong", connectTimeoutMs: 60_000 }, logger: recordingLogger() });
    const started = Date.now();
    await expect(client.start()).rejects.toThrow(/refused the connection/);
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
  });
});

describe("aedes refusing a subscription", () => {
  it("fails start() naming the topic, the reason and the ACL", async () => {
    const aedes = await Aedes.createBroker({
      authorizeSubscribe: (_client, subscription, callback) => {
        // No subscription and no error: aedes answers 128 in the SUBACK (an error would close the connection).
        if (subscription.topic.includes("/response/")) callback(null, null);
        else callback(null, subscription);
      },
    });
    try {
      const communicator = new MqttCommunicator({ agentName: "fenced", options: { streamBuilder: () => inProcessStream(aedes.handle), clientId: "fenced-1" }, logger: recordingLogger() });
      const error = await communicator.start().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(CommunicationError);
      expect((error as Error).message).toBe("the in-process broker refused the subscription to fenced/response/fenced-1 (reason code 128, unspecified error): check the broker's ACL for client fenced-1");
    } finally {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
  });
});
