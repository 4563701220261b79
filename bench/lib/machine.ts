/** The machine and the software versions a result was measured with. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { mosquittoBin } from "../../test/helpers/mosquitto.js";
import { repoRoot } from "./child.js";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  mosquitto: string;
  /** Peak RSS of a child that loads nothing (plain `node`), KiB: the floor under every RSS figure. */
  idleChildRssKiB: number;
  /** Installed versions of the packages under test. */
  packages: Record<string, string>;
}

const PACKAGES = ["mqtt", "aedes", "zod", "moleculer", "@nestjs/microservices", "@nestjs/core", "@nestjs/common", "rxjs"];

function installedVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

export function describeMachine(): Machine {
  const help = spawnSync(mosquittoBin, ["-h"], { encoding: "utf8" });
  const mosquitto = /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? "unknown";
  const idle = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.resourceUsage().maxRSS))"], { cwd: repoRoot, encoding: "utf8" });
  return {
    idleChildRssKiB: Number(idle.stdout) || Number.NaN,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    mosquitto,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, installedVersion(name)])),
  };
}
