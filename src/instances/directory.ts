import type { InstanceRecord } from "./record.js";

/** The live instances of the prefixes a communicator watches, from their retained records. */
export class InstanceDirectory {
  /** Prefix → instance id → record. */
  private readonly byPrefix = new Map<string, Map<string, InstanceRecord>>();
  /** Prefix → the instance ids a caller spreads over (only prefixes served by an `instances` group). */
  private readonly spread = new Map<string, { ids: string[]; next: number }>();

  /** A record arrived (or was cleared: `record` undefined). Returns the record it replaced, if any. */
  update(prefix: string, instance: string, record: InstanceRecord | undefined): InstanceRecord | undefined {
    let instances = this.byPrefix.get(prefix);
    const previous = instances?.get(instance);
    if (record === undefined) {
      instances?.delete(instance);
      if (instances?.size === 0) this.byPrefix.delete(prefix);
    } else {
      if (instances === undefined) this.byPrefix.set(prefix, (instances = new Map()));
      instances.set(instance, record);
    }
    this.refresh(prefix);
    return previous;
  }

  /** The live instances of `prefix`, by instance id. */
  instances(prefix: string): InstanceRecord[] {
    return [...(this.byPrefix.get(prefix)?.values() ?? [])].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  }

  /**
   * The instance a call to `prefix` goes to, round robin, when every live instance of it is in one group;
   * undefined when requests go to the plain request topic.
   */
  pick(prefix: string): string | undefined {
    const spread = this.spread.get(prefix);
    if (spread === undefined) return undefined;
    const id = spread.ids[spread.next % spread.ids.length]!;
    spread.next = (spread.next + 1) % spread.ids.length;
    return id;
  }

  private refresh(prefix: string): void {
    // Every group, `shared` ones too: a caller that knows which member has a call can send it again to another
    // member when that one dies. Leaving members take nothing new.
    const records = this.instances(prefix).filter((record) => record.leaving !== true);
    const group = records[0]?.group;
    const grouped = records.length > 0 && group !== null && records.every((record) => record.routing !== "single" && record.group === group);
    if (!grouped) {
      this.spread.delete(prefix);
      return;
    }
    const ids = records.map((record) => record.instance);
    const previous = this.spread.get(prefix);
    this.spread.set(prefix, { ids, next: previous?.next ?? 0 });
  }
}
