// Topic rules (spec §3.2): `*` inside a pattern matches any run of characters.

export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*")) return pattern === topic;
  const escaped = pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(topic);
}

/** Why a topic typed by the user would be refused by the server, or null when it is fine. */
export function topicProblem(entry: string, available: string[], allowWildcards: boolean): string | null {
  if (entry.includes("*") && entry !== "*") {
    if (!allowWildcards) return `“${entry}”: wildcard patterns are not enabled.`;
    if (available.length && !available.some((t) => topicMatches(entry, t)))
      return `“${entry}” does not match any available topic.`;
    return null;
  }
  if (available.length && entry !== "*" && !available.includes(entry)) return `“${entry}” is not an available topic.`;
  return null;
}
