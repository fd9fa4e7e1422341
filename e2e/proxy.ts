import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Outage, parsePollLines, summarizeOutage } from "./bootPoll";
import { SystemdHost, USER } from "./host";
import { now, round, sleep, waitFor } from "./wait";

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

/** The nginx that stands for the operator's reverse proxy, on the proxy network, running the README's block. */
export const PROXY = "rt-nginx";
export const PROXY_NETWORK = "seaser-network";

/**
 * Starts nginx (Debian's package, IMAGES.nginx) on seaser-network with the README's site, the
 * network's gateway as its resolver. Returns its address, which the pollers use: users reach a
 * proxy by its address, not through aardvark-dns.
 */
export function startProxy(host: SystemdHost, image: string): { address: string; version: string } {
    host.exec(["podman", "rm", "--force", "--time", "0", PROXY]);
    const gateway = host.must(["podman", "network", "inspect", PROXY_NETWORK, "--format", "{{range .Subnets}}{{.Gateway}}{{end}}"]).trim();
    host.must(["sh", "-c", `cat > ${USER.home}/nginx-site.conf`], { input: proxySite(readmeProxyConfig(), gateway) });
    host.must(["podman", "run", "-d", "--name", PROXY, "--network", PROXY_NETWORK,
        "--volume", `${USER.home}/nginx-site.conf:/etc/nginx/sites-enabled/default:ro`, image], { timeoutMs: 120_000 });
    const address = host.must(["podman", "inspect", PROXY, "--format", `{{(index .NetworkSettings.Networks "${PROXY_NETWORK}").IPAddress}}`]).trim();
    // nginx -v writes its version to stderr.
    const version = host.exec(["podman", "exec", PROXY, "nginx", "-v"]).stderr.trim().replace(/^nginx version: /, "");
    return { address, version };
}

/** What nginx answers for `path` from inside its own container (the body; "" when it does not answer). */
export const proxyBody = (host: SystemdHost, path: string) =>
    host.exec(["podman", "exec", PROXY, "curl", "-s", "--max-time", "2", `http://127.0.0.1:80${path}`]).stdout;

/** The status nginx answers for `path` from inside its own container. */
export const proxyStatus = (host: SystemdHost, path: string) =>
    host.exec(["podman", "exec", PROXY, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:80${path}`]).stdout.trim();

/**
 * What a user behind nginx sees while `work` runs: a poller on the proxy network starts a request to
 * `url` every 100 ms whether or not the last has answered (probe.py every, timeout 5 s), from the
 * work's start to `afterS` after the first 200 once it is done (long enough to see a second outage).
 */
export async function pollDuring<T>(host: SystemdHost, poller: string, image: string, url: string, work: () => Promise<T>, afterS = 8):
    Promise<{ result: T; outage: Outage; work_s: number; started_at: number }> {
    host.exec(["podman", "rm", "--force", "--time", "0", poller]);
    host.must(["podman", "run", "-d", "--name", poller, "--network", PROXY_NETWORK, image,
        "python3", "/usr/local/lib/probe.py", "every", String(now() + 900), "0.1", url], { timeoutMs: 180_000 });
    const lines = () => parsePollLines(host.exec(["podman", "logs", poller]).stdout);
    await waitFor("the poller getting 200s through nginx", () => lines().some((l) => l.r === "200"), 60);
    const startedAt = now();
    try {
        const result = await work();
        const doneAt = now();
        await waitFor("the poller getting 200s through nginx after it", () => lines().some((l) => l.r === "200" && l.t > doneAt), 120);
        await sleep(afterS * 1000);
        host.must(["podman", "kill", poller]);
        return { result, outage: summarizeOutage(parsePollLines(host.must(["podman", "logs", poller])), url, startedAt), work_s: round(doneAt - startedAt), started_at: startedAt };
    } finally {
        host.exec(["podman", "rm", "--force", "--time", "0", poller]);
    }
}

/**
 * Samples, every 100 ms inside the host, which containers aardvark-dns is told to answer `name` with on
 * the proxy network (netavark's config for it, one line per container: id, IPv4s, IPv6s, names), so a
 * run can tell "the name had no address" (ours) from "aardvark-dns did not answer" (aardvark-dns 1.4.0's).
 */
export function watchName(host: SystemdHost, name: string): { stop(): { samples: number; without_address: number } } {
    const file = `/run/user/${USER.uid}/containers/networks/aardvark-dns/${PROXY_NETWORK}`;
    const log = `${USER.home}/name-watch.log`;
    host.must(["sh", "-c", `rm -f ${log}; (while [ ! -e ${log}.stop ]; do echo "@"; cat ${file} 2>/dev/null; sleep 0.1; done >> ${log}) >/dev/null 2>&1 &`]);
    return {
        stop() {
            host.must(["sh", "-c", `touch ${log}.stop; sleep 0.3; rm -f ${log}.stop`]);
            const snapshots = host.must(["cat", log]).split("@\n").slice(1);
            const has = (snapshot: string) => snapshot.split("\n").slice(1).some((line) => (line.split(" ")[3] ?? "").split(",").includes(name));
            return { samples: snapshots.length, without_address: snapshots.filter((s) => !has(s)).length };
        },
    };
}
