import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HOST_PACKAGES, readmeHostSetup } from "../e2e/host";

const root = join(__dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const lines = readme.split("\n");
const scripts: Record<string, string> = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;

describe("README.md, the operator's manual", () => {
    it("is read in ten minutes: at most 320 lines", () => {
        expect(lines.length).toBeLessThanOrEqual(320);
    });

    it("names only npm scripts that package.json has", () => {
        const named = [...readme.matchAll(/npm run (?:-s |--silent )?([\w:-]+)/g)].map((m) => m[1]);
        expect(named.length).toBeGreaterThan(10);
        expect(named.filter((name) => !(name in scripts))).toEqual([]);
    });

    it("uses only the actions and stacks scripts/stack.sh knows", () => {
        const stackSh = readFileSync(join(root, "scripts/stack.sh"), "utf8");
        const actions = stackSh.match(/^case "\$action" in ([\w|]+)\)/m)![1].split("|");
        const used = [...readme.matchAll(/npm run stack -- ([a-z]+) ([\w<>]+)/g)].map((m) => [m[1], m[2]]);
        expect(used.length).toBeGreaterThan(10);
        for (const [action, stack] of used) {
            expect(actions, `npm run stack -- ${action} ${stack}`).toContain(action);
            expect(["prod", "dev", "test", "<stack>"], `npm run stack -- ${action} ${stack}`).toContain(stack);
        }
    });

    it("puts no passphrase or password on a command line", () => {
        const onCommandLine = [
            /PULUMI_CONFIG_PASSPHRASE=(?!\s|$)/, // a value for the variable (the _FILE variant names a file)
            /--secret +[\w.:-]+ +(?![<|#(]|$)\S/, // `config set --secret KEY VALUE`
            /\b\w*(PASSWORD|PASSPHRASE)=\S/i, // POSTGRES_PASSWORD=..., PGPASSWORD=...
            /--(password|passphrase)[= ]\S/,
        ];
        const offending = lines.filter((line) => onCommandLine.some((pattern) => pattern.test(line)));
        expect(offending).toEqual([]);
    });

    it("shows the passphrase as a 0600 file, and warns about systemctl --user under su and sudo -u", () => {
        expect(readme).toContain("export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/rezept-tagebuch/passphrase");
        expect(readme).toContain("(umask 077; ");
        expect(readme).toMatch(/`systemctl --user` fails under `su seaser` and `sudo -u seaser`/);
        expect(readme).toContain("machinectl shell seaser@");
    });

    it("shows an nginx configuration that resolves the app's name again (aardvark-dns answers with a TTL of a day on Debian 12)", () => {
        const nginx = readme.match(/```nginx\n([\s\S]*?)```/)![1];
        // No AAAA lookups: aardvark-dns has no IPv6 address of the name, and nginx waits for both answers.
        expect(nginx).toMatch(/^resolver \S+ valid=1s ipv6=off;/m);
        for (const app of ["seaser-rezept-tagebuch", "seaser-rezept-tagebuch-dev"]) {
            // A literal host in proxy_pass is resolved once, at nginx's start: the name goes through a variable.
            const variable = nginx.match(new RegExp(`set \\$(\\w+) ${app};`))![1];
            const location = nginx.slice(nginx.indexOf(`set $${variable} ${app};`)).split("}")[0];
            expect(location).toContain(`proxy_pass http://$${variable}:80;`);
            // During a deploy the name has two addresses, one of which may just have gone: give up on it fast, try the other.
            expect(location).toMatch(/proxy_connect_timeout 1s;/);
            expect(location).toMatch(/proxy_next_upstream error timeout;/);
        }
    });
});

describe("README.md's host block, which the e2e suite runs on its host (e2e/host.ts boot())", () => {
    const { root: asRoot, user } = readmeHostSetup(readme);

    it("prepares the host as root: packages, the user, subordinate ids, lingering", () => {
        expect(asRoot.some((line) => /^apt-get install -y /.test(line))).toBe(true);
        expect(asRoot).toEqual(expect.arrayContaining([expect.stringMatching(/usermod --add-subuids /), expect.stringMatching(/usermod --add-subgids /),
            expect.stringMatching(/^loginctl enable-linger seaser\b/)]));
        // Safe to run again on a prepared host: the user and its ids are added only when missing.
        expect(asRoot.find((line) => line.includes("useradd"))).toMatch(/^id seaser .*\|\| useradd /);
    });

    it("as the user: the Podman socket, and the proxy network if it is missing", () => {
        expect(user).toEqual(expect.arrayContaining([expect.stringMatching(/^systemctl --user enable --now podman\.socket\b/),
            expect.stringMatching(/^podman network exists seaser-network \|\| podman network create seaser-network\b/)]));
    });

    it("installs what the e2e host's debootstrap includes, which is why the suite skips its apt-get line", () => {
        const packages = asRoot.find((line) => /^apt-get install/.test(line))!.replace(/^apt-get install -y /, "").split(/\s+/);
        // machinectl is the operator's way into seaser's session; the suite enters the host with podman exec.
        const onlyForOperators = ["systemd-container"];
        expect(packages.filter((p) => !onlyForOperators.includes(p) && !HOST_PACKAGES.split(",").includes(p))).toEqual([]);
    });

    it("is found only when marked: a README without the marker stops the suite with the fix", () => {
        expect(() => readmeHostSetup(readme.replace("<!-- host-setup", "<!-- other"))).toThrow(/README.md has no host block/);
    });
});
