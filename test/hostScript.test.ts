import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { healthDirectory } from "../lib/healthUnits";
import { HOST_SCRIPT_DIR, readScriptFiles, readScriptParams, renderHostScript } from "../lib/hostScript";
import { LIVE_ROW_COUNTS_SQL } from "../lib/offsite";
import { PGDATA, RESTORED_WAL_DIR } from "../lib/pitr";
import { scriptDirectory, unitDirectory } from "../lib/systemd";

/** Every .sh file below host/, relative to it. */
function hostFiles(dir = HOST_SCRIPT_DIR, prefix = ""): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? hostFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : entry.name.endsWith(".sh") ? [`${prefix}${entry.name}`] : []);
}
const scripts = hostFiles().filter((file) => !file.startsWith("lib/"));

/** A folder of host scripts for the renderer's own tests. */
function scriptDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), "host-script-"));
    mkdirSync(join(dir, "lib"));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return dir;
}

/** Values sh must read back as given: quotes of both kinds, expansions, a newline, a backslash, a leading dash. */
const AWKWARD = ["it's", 'say "hi"', "$HOME and ${PATH}", "`id`", "$(echo injected >&2)", "a\nb\n", "back\\slash", "!bang's", "", "-n", "*", "tab\there", "ünïcode", "it's \"$5\" \\ `x`"];

describe("host scripts as files", () => {
    it("are each rendered by lib/, and each library is sourced by a script: no file an edit would not reach", () => {
        const lib = readdirSync(join(HOST_SCRIPT_DIR, "..", "lib")).map((file) => readFileSync(join(HOST_SCRIPT_DIR, "..", "lib", file), "utf8")).join("\n");
        for (const script of scripts) expect(lib, script).toContain(`renderHostScript("${script}"`);
        const sources = hostFiles().map((file) => readFileSync(join(HOST_SCRIPT_DIR, file), "utf8")).join("\n");
        for (const library of hostFiles().filter((file) => file.startsWith("lib/"))) expect(sources, library).toContain(`. "$(dirname "$0")/${library}"`);
    });

    it.each(["user", "system"] as const)("lib/scope.sh puts things where the TypeScript looks for them (%s scope: scripts/health.ts, scripts/adopt.ts)", (scope) => {
        const home = "/home/someone";
        const expand = (text: string) => spawnSync("sh", ["-c", `printf '%s' "${text}"`], { encoding: "utf8", env: { HOME: home } }).stdout;
        const script = `scope=${scope}; . ${join(HOST_SCRIPT_DIR, "lib/scope.sh")}; scope_folders; printf '%s\n' "$unit_dir" "$script_dir" "$config_dir" "$(at_home '$HOME/backups')" "$(at_home /srv/backups)"`;
        expect(spawnSync("sh", ["-c", script], { encoding: "utf8", env: { HOME: home } }).stdout.split("\n").slice(0, 5)).toEqual([
            expand(unitDirectory(scope)), expand(scriptDirectory(scope)), expand(healthDirectory(scope)), `${home}/backups`, "/srv/backups",
        ]);
    });

    it("what the scripts write out themselves agrees with the TypeScript: PGDATA in the restore's container script, the row counts' SQL", () => {
        const pitr = readFileSync(join(HOST_SCRIPT_DIR, "pitr.sh"), "utf8");
        expect(pitr).toContain(`\nd=${PGDATA}\n`);
        expect(pitr).toContain(`\nmkdir -p ${RESTORED_WAL_DIR}\n`);
        for (const file of ["pitr.sh", "offsite.sh"]) expect(readFileSync(join(HOST_SCRIPT_DIR, file), "utf8"), file).toContain(`\n${LIVE_ROW_COUNTS_SQL.join("\n")}\nSQL\n`);
    });

    it.each(hostFiles())("%s passes shellcheck as it is, following the libraries it sources", (file) => {
        const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "--external-sources", `--source-path=${HOST_SCRIPT_DIR}`, file], { cwd: HOST_SCRIPT_DIR, encoding: "utf8" });
        expect(result.error, "shellcheck is missing: apt-get install shellcheck").toBeUndefined();
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it.each(scripts)("%s, run as it is, stops at a parameter it needs before it runs anything", (file) => {
        // Nothing on PATH but dirname (which finds the libraries): any other command would fail loudly.
        const bin = mkdtempSync(join(tmpdir(), "host-script-bin-"));
        symlinkSync(spawnSync("sh", ["-c", "command -v dirname"], { encoding: "utf8" }).stdout.trim(), join(bin, "dirname"));
        const result = spawnSync("/bin/sh", [join(HOST_SCRIPT_DIR, file)], { encoding: "utf8", env: { PATH: bin, HOME: bin }, input: "" });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/^\S+: \d+: (\S+: )?[a-z_0-9]+: parameter not set( or null)?\n$/);
    });
});

describe("the renderer (lib/hostScript.ts)", () => {
    const dir = scriptDir({
        "echo.sh": [
            "#!/bin/sh",
            "# Prints its parameters, NUL-separated.",
            "# Parameters:",
            "#   first                 the first value",
            "#                         (its meaning goes on)",
            "#   second                the second",
            "set -eu",
            "# shellcheck source=lib/more.sh",
            '. "$(dirname "$0")/lib/more.sh"',
            "printf '%s\\0' \"$first\" \"$second\" \"$third\"",
            "",
        ].join("\n"),
        "lib/more.sh": ["# shellcheck shell=sh", "# A library.", "# Parameters:", "#   third                 the library's own", ': "${third?}"', ""].join("\n"),
        "files.sh": [
            "#!/bin/sh",
            "# Prints its files.",
            "# Parameters:",
            "#   units                 files: names, and units_<n> their contents",
            "n=0",
            "for name in $units; do",
            "    n=$((n + 1))",
            "    text=",
            '    eval "text=\\$units_$n"',
            "    printf '%s=%s\\0' \"$name\" \"$text\"",
            "done",
            "",
        ].join("\n"),
    });
    const run = (script: string) => spawnSync("sh", ["-c", script], { encoding: "utf8" });

    it.each(AWKWARD)("sets %j as sh reads it back, and readScriptParams reads it back alike", (value) => {
        const script = renderHostScript("echo.sh", { first: value, second: 42, third: value }, dir);
        expect(run(script).stdout.split("\0").slice(0, 3)).toEqual([value, "42", value]);
        expect(readScriptParams(script)).toEqual({ first: value, second: "42", third: value });
    });

    it("puts the block after the header and the library in place of the line that sources it", () => {
        const script = renderHostScript("echo.sh", { first: "a-b", second: 1, third: "" }, dir);
        expect(script).toBe([
            "#!/bin/sh", "# Prints its parameters, NUL-separated.", "# Parameters:", "#   first                 the first value",
            "#                         (its meaning goes on)", "#   second                the second",
            "# host/echo.sh, with the parameters pulumi up gives it:",
            "first='a-b'", "second=1", "third=''", "",
            "set -eu", "# host/lib/more.sh (its comments are there):", ': "${third?}"',
            "printf '%s\\0' \"$first\" \"$second\" \"$third\"", "",
        ].join("\n"));
        expect(spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" }).stdout).toBe("");
    });

    it("refuses a parameter the script does not name, and one it names but is not given", () => {
        expect(() => renderHostScript("echo.sh", { first: "a", second: "b", third: "c", fourth: "d" }, dir)).toThrow("echo.sh: unknown parameters fourth");
        expect(() => renderHostScript("echo.sh", { first: "a" }, dir)).toThrow("echo.sh: parameters not given: second, third");
    });

    it("writes a set of files as their names and numbered contents, which the script and readScriptFiles read back", () => {
        const units = { "a.service": "[Unit]\nDescription=it's $HOME\n", "b.timer": AWKWARD.join("|"), "c@x.service": "" };
        const script = renderHostScript("files.sh", { units }, dir);
        expect(run(script).stdout).toBe(Object.entries(units).map(([name, text]) => `${name}=${text}\0`).join(""));
        expect(readScriptFiles(script, "units")).toEqual(units);
        expect(spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" }).stdout).toBe("");
        expect(readScriptFiles(renderHostScript("files.sh", { units: {} }, dir), "units")).toEqual({});
        expect(() => renderHostScript("files.sh", { units: { "a b.service": "" } }, dir)).toThrow('the file name "a b.service" cannot be listed');
    });
});
