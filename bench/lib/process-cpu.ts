/** CPU time and RSS of another process (a broker the bench did not write), from Linux's /proc. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    let read = Number.NaN;
    try {
      read = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      // No getconf: Linux's USER_HZ is 100 on every common architecture.
    }
    ticksPerSecond = Number.isInteger(read) && read > 0 ? read : 100;
  }
  return ticksPerSecond;
}

/**
 * User + system CPU of process `pid` so far, µs (to the kernel's clock tick, 10 ms here); NaN where
 * /proc cannot tell (not Linux, or the process is gone).
 */
export function processCpuUs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return Number.NaN;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3,
  // utime 14 and stime 15 (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  return (ticks / clockTicks()) * 1e6;
}

/** Resident set size of process `pid` now, KiB (`VmRSS` in /proc/<pid>/status); NaN where /proc cannot tell. */
export function processRssKiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? Number.NaN : Number(match[1]);
  } catch {
    return Number.NaN;
  }
}
