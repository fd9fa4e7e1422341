import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageVolumeName, renderImageVolumeCheck } from "../lib/appImageVolumes";
import { parseStackConfig } from "../lib/config";
import { readScriptParams } from "../lib/hostScript";
import { fakeImageId, runProgram, TYPES, validConfig } from "./harness";

const IMAGE = "localhost/seaser-rezept-tagebuch:v2.0.0";
const check = (paths: string[]) => renderImageVolumeCheck({ stack: "dev", image: IMAGE, imageId: "sha256:abc", paths });

/** Runs the check against a stub podman whose image declares `declared` (Config.Volumes); returns its calls too. */
function runCheck(script: string, declared: string[]) {
    const dir = mkdtempSync(join(tmpdir(), "image-volumes-"));
    const log = join(dir, "calls.log");
    // As `podman image inspect --format '{{range $path, $_ := .Config.Volumes}}{{println $path}}{{end}}'`: one path a line, sorted.
    writeFileSync(join(dir, "podman"), `#!/bin/sh\necho "$*" >> "${log}"\n[ "$1 $2" = "image inspect" ] || exit 3\nprintf '%s' '${[...declared].sort().map((p) => `${p}\n`).join("")}'\n`);
    chmodSync(join(dir, "podman"), 0o755);
    const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
    return { ...result, calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [] };
}

describe("the check before an app deploy: every VOLUME of the image is mounted from a named volume", () => {
    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: check(["/var/lib/app-cache"]), encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it("passes an image that declares no VOLUME, only /data, or only listed paths (as written or with a trailing '/'), and only reads", () => {
        expect(runCheck(check([]), []).status).toBe(0);
        expect(runCheck(check([]), ["/data"]).status).toBe(0);
        expect(runCheck(check(["/var/lib/app-cache"]), ["/data", "/var/lib/app-cache"]).status).toBe(0);
        const slash = runCheck(check(["/var/lib/app-cache"]), ["/var/lib/app-cache/", "//data"]);
        expect(slash.status).toBe(0);
        expect(slash.calls).toEqual(["image inspect --format {{range $path, $_ := .Config.Volumes}}{{println $path}}{{end}} sha256:abc"]);
    });

    it("refuses a VOLUME the key does not list, naming the path, the key and the value to set (the listed paths kept)", () => {
        const refused = runCheck(check(["/srv/extra"]), ["/data", "/var/lib/app-cache", "/var/log/app"]);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`the app image ${IMAGE} declares VOLUME /var/lib/app-cache, and appImageVolumes does not list it`);
        expect(refused.stderr).toContain("declares VOLUME /var/log/app, and appImageVolumes does not list it");
        expect(refused.stderr).not.toContain("VOLUME /data");
        expect(refused.stderr).toContain(`fix: npm run stack -- config dev set appImageVolumes '["/srv/extra","/var/lib/app-cache","/var/log/app"]'`);
        expect(refused.calls).toHaveLength(1);
    });

    it("refuses a VOLUME below /data with the fix that works (the image without it), as no key can mount it", () => {
        const nested = runCheck(check([]), ["/data", "/data/cache"]);
        expect(nested.status).toBe(1);
        expect(nested.stderr).toContain(`the app image ${IMAGE} declares VOLUME /data/cache, inside /data where the uploads volume is mounted`);
        expect(nested.stderr).toContain("fix: build the image without that VOLUME line");
        expect(nested.stderr).not.toContain("set appImageVolumes");
        // With another path missing too: both said, the key's fix for the one it can mount.
        const both = runCheck(check([]), ["/data/cache", "/var/log/app"]);
        expect(both.status).toBe(1);
        expect(both.stderr).toContain("declares VOLUME /data/cache, inside /data");
        expect(both.stderr).toContain(`fix: npm run stack -- config dev set appImageVolumes '["/var/log/app"]'`);
    });

    it("fails when podman cannot read the image", () => {
        const dir = mkdtempSync(join(tmpdir(), "image-volumes-"));
        writeFileSync(join(dir, "podman"), "#!/bin/sh\necho 'Error: no such image' >&2\nexit 125\n");
        chmodSync(join(dir, "podman"), 0o755);
        expect(spawnSync("sh", ["-c", check([])], { env: { PATH: `${dir}:/usr/bin:/bin` } }).status).not.toBe(0);
    });
});

describe("appImageVolumes in the configuration", () => {
    it("gives each path a volume named after the environment's app container, so no environment can name another's", () => {
        const config = parseStackConfig("dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/app-cache","/srv/x"]' });
        expect(config.app?.imageVolumes).toEqual([
            { path: "/var/lib/app-cache", volume: "seaser-rezept-tagebuch-dev-vol-var-lib-app-cache" },
            { path: "/srv/x", volume: "seaser-rezept-tagebuch-dev-vol-srv-x" },
        ]);
        expect(imageVolumeName("seaser-rezept-tagebuch", "/var/lib/app-cache")).toBe("seaser-rezept-tagebuch-vol-var-lib-app-cache");
        expect(parseStackConfig("dev", validConfig("dev")).app?.imageVolumes).toEqual([]);
    });
});

describe("the program with appImageVolumes", () => {
    const urn = (name: string) => (u: string) => u.endsWith(`::${name}`);

    it("mounts each path from a retained volume made after the check, and runs the check before the standby and the container", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/app-cache"]' });
        const checkRun = run.find(TYPES.localCommand, "dev-app-image-volumes");
        const params = readScriptParams(checkRun.inputs.create);
        expect(params).toMatchObject({ stack: "dev", image: validConfig("dev").appImage, image_id: fakeImageId(validConfig("dev").appImage), key: "appImageVolumes" });
        expect(params.mounted.split("\n")).toEqual(["/data", "/var/lib/app-cache"]);
        expect(checkRun.inputs.triggers).toEqual([fakeImageId(validConfig("dev").appImage), ["/var/lib/app-cache"]]);

        const volume = run.find(TYPES.volume, "dev-app-vol-var-lib-app-cache");
        expect(volume.inputs.name).toBe("seaser-rezept-tagebuch-dev-vol-var-lib-app-cache");
        expect({ retain: volume.retainOnDelete, protect: volume.protect }).toEqual({ retain: true, protect: false });
        expect(volume.dependencies.filter(urn("dev-app-image-volumes"))).toHaveLength(1);

        const container = run.find(TYPES.container, "dev-app-container");
        expect(container.inputs.volumes).toEqual([
            { volumeName: "seaser-rezept-tagebuch-dev-volume", containerPath: "/data" },
            { volumeName: "seaser-rezept-tagebuch-dev-vol-var-lib-app-cache", containerPath: "/var/lib/app-cache" },
        ]);
        expect(container.inputs.removeVolumes).toBe(false);
        const standby = run.find(TYPES.localCommand, "dev-app-standby");
        expect(standby.dependencies.filter(urn("dev-app-image-volumes"))).toHaveLength(1);
        expect(container.dependencies.filter(urn("dev-app-standby"))).toHaveLength(1);
        // A new path is a new container: the standby takes over first.
        expect(JSON.stringify(standby.inputs.triggers)).toContain("/var/lib/app-cache");

        // The host check looks at the volume as at the stack's others.
        const hostCheck = readScriptParams(run.find(TYPES.localCommand, "dev-host-check-run").inputs.create);
        expect(hostCheck.volumes.split("\n")).toContain("appImageVolumes seaser-rezept-tagebuch-dev-vol-var-lib-app-cache");
    });

    it("without the key: the check still runs (it refuses an image VOLUME), and the standby's triggers are what they were", async () => {
        const run = await runProgram("dev", validConfig("dev"));
        expect(readScriptParams(run.find(TYPES.localCommand, "dev-app-image-volumes").inputs.create).mounted).toBe("/data");
        expect(run.ofType(TYPES.volume).map((v) => v.name).sort()).toEqual(["dev-app-data", "dev-db-data"]);
        // A changed trigger alone would start a standby that no gate stops: a stack without image volumes keeps its six.
        expect(run.find(TYPES.localCommand, "dev-app-standby").inputs.triggers).toHaveLength(6);
    });
});
