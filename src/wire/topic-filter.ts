/** Does `topic` match the MQTT topic filter `filter` (`+` one level, `#` the rest, parent included)? */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return i === 0 ? !topic.startsWith("$") : true;
    if (i >= t.length) return false;
    if (f[i] === "+") {
      if (i === 0 && t[0]!.startsWith("$")) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
