import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The reverse proxy's configuration as the README gives it to operators (its one ```nginx
 * block): the benchmark's nginx runs exactly that text, so what is measured is what an
 * operator who followed the manual gets, and a change to the manual changes the measurement.
 */
export function readmeProxyConfig(readme = readFileSync(join(__dirname, "..", "README.md"), "utf8")): string {
    const blocks = [...readme.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)];
    if (blocks.length !== 1) throw new Error(`README.md has ${blocks.length} \`\`\`nginx blocks; the reverse proxy's configuration must be exactly one`);
    return blocks[0][1];
}

/**
 * The nginx site (a `server` listening on `port`) of the README's block, with `gateway` in its
 * `resolver` line, as the block's comment tells an operator to put seaser-network's gateway there.
 */
export function proxySite(config: string, gateway: string, port = 80): string {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(gateway)) throw new Error(`proxySite: the gateway "${gateway}" is not an IPv4 address (podman network inspect seaser-network)`);
    const resolver = /^resolver \S+/m;
    if (!resolver.test(config)) throw new Error("README.md's nginx block has no line \"resolver <gateway> ...\" to put seaser-network's gateway in");
    const body = config.replace(resolver, `resolver ${gateway}`).trimEnd().split("\n").map((line) => (line ? `    ${line}` : line));
    return ["server {", `    listen ${port};`, ...body, "}", ""].join("\n");
}
