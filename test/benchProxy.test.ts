import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { proxySite, readmeProxyConfig } from "../e2e/proxy";
import { benchFigure, mergeBenchReport } from "../e2e/report";

const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

describe("the benchmark's nginx (e2e/proxy.ts)", () => {
    const site = proxySite(readmeProxyConfig(), "10.89.3.1");

    it("runs the README's nginx block line for line, inside a server on port 80, with seaser-network's gateway as its resolver", () => {
        const block = readme.match(/```nginx\n([\s\S]*?)```/)![1].trimEnd().split("\n");
        const lines = site.trimEnd().split("\n");
        expect(lines.slice(0, 2)).toEqual(["server {", "    listen 80;"]);
        expect(lines.at(-1)).toBe("}");
        expect(lines.slice(2, -1).map((line) => line.replace(/^ {4}/, ""))).toEqual(block.map((line) => line.replace(/^resolver \S+/, "resolver 10.89.3.1")));
        expect(site).toMatch(/^ {4}resolver 10\.89\.3\.1 valid=1s ipv6=off;/m);
    });

    it("follows a change to the README's block (the manual is the one source)", () => {
        const changed = readme.replace("valid=1s ipv6=off;", "valid=7s;").replace("proxy_pass http://$dev:80;", "proxy_pass http://$dev:8080;");
        const other = proxySite(readmeProxyConfig(changed), "10.89.0.1");
        expect(other).toContain("resolver 10.89.0.1 valid=7s;");
        expect(other).toContain("proxy_pass http://$dev:8080;");
    });

    it("refuses a README without exactly one nginx block, or a block without a resolver line, and a gateway that is no address", () => {
        expect(() => readmeProxyConfig("no block here")).toThrow(/has 0 ```nginx blocks/);
        expect(() => readmeProxyConfig("```nginx\na;\n```\n```nginx\nb;\n```\n")).toThrow(/has 2 ```nginx blocks/);
        expect(() => proxySite("location / {}\n", "10.89.0.1")).toThrow(/no line "resolver <gateway> \.\.\."/);
        expect(() => proxySite(readmeProxyConfig(), "")).toThrow(/the gateway "" is not an IPv4 address/);
    });
});

describe("reports/bench.json (e2e/report.ts)", () => {
    it("gives a figure's min, median and max over the runs, the median of an even count the mean of the middle two", () => {
        expect(benchFigure("count", [9, 3, 5])).toEqual({ unit: "count", min: 3, median: 5, max: 9 });
        expect(benchFigure("s", [4, 1, 2, 3])).toEqual({ unit: "s", min: 1, median: 2.5, max: 4 });
        expect(() => benchFigure("count", [])).toThrow(/no values/);
    });

    it("keeps the issue's shape: runs, one measured_at, figures merged by name, other keys kept", () => {
        const file = join(mkdtempSync(join(tmpdir(), "bench-")), "bench.json");
        writeFileSync(file, JSON.stringify({ baselines: { host: "h" }, measured_at: { baselines: "earlier" }, figures: { kept: benchFigure("s", [1]), replaced: benchFigure("s", [1]) } }));
        mergeBenchReport({ runs: 3, figures: { replaced: benchFigure("count", [2]), added: benchFigure("count", [0]) } }, file);
        const written = JSON.parse(readFileSync(file, "utf8"));
        expect(written.runs).toBe(3);
        expect(typeof written.measured_at).toBe("string");
        expect(Object.keys(written.figures).sort()).toEqual(["added", "kept", "replaced"]);
        expect(written.figures.replaced).toEqual({ unit: "count", min: 2, median: 2, max: 2 });
        expect(written.baselines).toEqual({ host: "h" });
    });
});

describe("the poller's every mode (e2e/images/probe.py)", () => {
    it("starts a request each interval while earlier ones still hang, so a slow answer hides no failure behind it", async () => {
        const { createServer } = await import("node:http");
        const { spawn } = await import("node:child_process");
        // Each answer takes 2 s: a poller that waited for it would start 1 request in the 1.2 s window
        // (less python's start-up), this one about 10.
        const server = createServer((_, response) => setTimeout(() => response.end("ok"), 2000));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as { port: number }).port;
        try {
            const until = Date.now() / 1000 + 1.2;
            const output = await new Promise<string>((resolve, reject) => {
                const child = spawn("python3", [join(__dirname, "..", "e2e", "images", "probe.py"), "every", String(until), "0.1", `http://127.0.0.1:${port}/x`]);
                let out = "";
                child.stdout.on("data", (chunk) => { out += chunk; });
                child.on("error", reject);
                child.on("close", () => resolve(out));
            });
            const lines = output.trim().split("\n").map((line) => JSON.parse(line));
            expect(lines.length).toBeGreaterThanOrEqual(4);
            expect(lines.every((line) => line.r === "200")).toBe(true);
            const starts = lines.map((line) => line.t).sort();
            expect(starts.at(-1) - starts[0]).toBeLessThan(1.2);
        } finally {
            server.close();
        }
    });
});
