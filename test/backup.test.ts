import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { containerPath } from "./busybox";
import { BACKUP_FILE, BackupSpec, DB_READY_SECONDS, renderBackupScript, renderBackupUnits, renderRestoreScript } from "../lib/backup";
import { EnvironmentName, environmentNames } from "../lib/environments";
import { readScriptParams } from "../lib/hostScript";
import { renderInstallScript, renderRemoveScript, scriptPathInUnit } from "../lib/systemd";
import { ProgramRun, runProgram, TYPES, validConfig } from "./harness";

function spec(env: EnvironmentName, over: Partial<BackupSpec> = {}): BackupSpec {
    const names = environmentNames(env);
    return {
        environment: env, scope: "user", dbContainer: names.dbContainer,
        app: env === "test" ? undefined : { container: names.appContainer, volume: names.appVolume },
        directory: `$HOME/rezept-tagebuch-backups/${env}`, keep: 3, maxAgeDays: 30, ...over,
    };
}

/** A host with a stub podman and systemctl that log their calls; `existing` containers exist and run. */
/**
 * What `pg_restore --data-only` prints for a dump (PostgreSQL 15's text format, as
 * pg_backup_archiver.c writes it): a COPY block per table, one line per row, a row's newline
 * escaped as \n, `\.` ending the block, an empty table's block with no rows, and the trailer.
 */
const PG_RESTORE_DATA_ONLY = String.raw`--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Data for Name: recipes; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.recipes (id, title, body) FROM stdin;
1	Pancakes	flour\nmilk
2	Soup	water
3	"Tea"	\N
\.


--
-- Data for Name: Tags; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public."Tags" (id) FROM stdin;
\.


--
-- PostgreSQL database dump complete
--

`;

function fakeHost(opts: { existing: string[]; pgDumpFails?: boolean; running?: boolean; image?: string; dataOnlyOutput?: string; startingUpFor?: number }) {
    const root = mkdtempSync(join(tmpdir(), "backup-"));
    const bin = join(root, "bin");
    const home = join(root, "home");
    mkdirSync(bin);
    mkdirSync(home);
    const log = join(root, "calls.log");
    writeFileSync(join(bin, "podman"), [
        "#!/bin/sh",
        `echo "podman $*" >> "${log}"`,
        'case "$1 $2" in',
        `  "container exists") for c in ${opts.existing.join(" ")}; do [ "$c" = "$3" ] && exit 0; done; exit 1;;`,
        `  "inspect --format") case "$3" in *Running*) echo ${opts.running === false ? "false" : "true"};; *ImageName*) echo "${opts.image ?? "localhost/seaser-rezept-tagebuch:rezept_version_10_11_2025_001"}";; esac;;`,
        `  "volume export") printf 'uploads-of-%s' "$3";;`,
        `  "volume import") echo "imported $4 into $3" >> "${log}";;`,
        "esac",
        'if [ "$1" = exec ]; then',
        '  case "$*" in',
        // A database still starting (crash recovery at boot) for the first startingUpFor asks: pg_isready exits 1, pg_dump fails.
        `    *pg_isready*) n=$(($(cat "${root}/asked" 2>/dev/null || echo 0) + 1)); echo $n > "${root}/asked"; [ $n -gt ${opts.startingUpFor ?? 0} ] || exit 1;;`,
        `    *pg_dump*) [ ${opts.startingUpFor ?? 0} -eq 0 ] || [ $(cat "${root}/asked" 2>/dev/null || echo 0) -gt ${opts.startingUpFor ?? 0} ] || { echo 'pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  the database system is starting up' >&2; exit 1; }; ${opts.pgDumpFails ? "echo 'pg_dump: error: connection failed' >&2; exit 1" : "printf 'PGDMP-custom-format'"};;`,
        // The row counts: the script's own pipeline, run here with a pg_restore that prints pg_restore's text output.
        `    *"pg_restore --data-only"*) cat > /dev/null; PATH="${containerPath(`${bin}/in-container`)}" busybox sh -c "$6"; exit $?;;`,
        `    *pg_restore*) cat > "${root}/restored"; echo "pg_restore" >> "${log}";;`,
        "    *psql*) cat > /dev/null; echo 'public.recipes 3';;",
        "  esac",
        "fi",
        "exit 0",
    ].join("\n"));
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "systemctl $*" >> "${log}"\n`);
    writeFileSync(join(bin, "sleep"), `#!/bin/sh\necho "sleep $*" >> "${log}"\n`);
    mkdirSync(join(bin, "in-container"));
    // As pg_restore 12 and later: stdout only with -f - (pg_restore.c: "one of -d/--dbname and -f/--file must be specified").
    writeFileSync(join(bin, "in-container", "pg_restore"), [
        "#!/bin/sh",
        'case " $* " in *" -f - "*|*" --file=- "*) ;; *) echo "pg_restore: error: one of -d/--dbname and -f/--file must be specified" >&2; exit 1 ;; esac',
        `cat <<'OUT'\n${opts.dataOnlyOutput ?? PG_RESTORE_DATA_ONLY}OUT`, "",
    ].join("\n"));
    chmodSync(join(bin, "in-container", "pg_restore"), 0o755);
    for (const tool of ["podman", "systemctl", "sleep"]) chmodSync(join(bin, tool), 0o755);
    const dir = (env: string) => join(home, "rezept-tagebuch-backups", env);
    const run = (script: string, args: string[] = []) => spawnSync("sh", ["-c", script, "script", ...args], {
        encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home },
    });
    const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
    return { root, run, dir, calls };
}

describe("the backup script", () => {
    it.each(["prod", "dev", "test"] as const)("passes shellcheck for %s, and so does restore", (env) => {
        for (const script of [renderBackupScript(spec(env)), renderRestoreScript(spec(env))]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: script, encoding: "utf8" });
            expect(result.stdout).toBe("");
            expect(result.status).toBe(0);
        }
    });

    it("dumps the database and the uploads, named by stack, UTC time and the outgoing tag, readable by the owner only", () => {
        const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"] });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const files = readdirSync(host.dir("dev")).sort();
        expect(files).toHaveLength(3);
        const [dump, uploads] = [files.find((f) => f.endsWith(".dump"))!, files.find((f) => f.endsWith(".uploads.tar"))!];
        // The rows of each table as the dump holds them, sorted as the drill sorts its own count (LC_ALL=C).
        expect(readFileSync(join(host.dir("dev"), dump.replace(/\.dump$/, ".rows")), "utf8")).toBe('public."Tags" 0\npublic.recipes 3\n');
        const match = BACKUP_FILE.exec(dump)!;
        expect(match.slice(1)).toEqual(["dev", expect.stringMatching(/^\d{8}T\d{6}Z$/), "rezept_version_10_11_2025_001"]);
        expect(Math.abs(Date.parse(match[2].replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z")) - Date.now())).toBeLessThan(60_000);
        expect(uploads).toBe(dump.replace(/\.dump$/, ".uploads.tar"));
        expect(readFileSync(join(host.dir("dev"), dump), "utf8")).toBe("PGDMP-custom-format");
        expect(readFileSync(join(host.dir("dev"), uploads), "utf8")).toBe("uploads-of-seaser-rezept-tagebuch-dev-volume");
        expect(statSync(host.dir("dev")).mode & 0o777).toBe(0o700);
        for (const file of files) expect(statSync(join(host.dir("dev"), file)).mode & 0o777).toBe(0o600);
        expect(result.stdout).toContain(dump);
    });

    it("fails, leaving no backup, when pg_restore cannot read the new dump to the end", () => {
        const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"], dataOnlyOutput: PG_RESTORE_DATA_ONLY.split("-- PostgreSQL database dump complete")[0] });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("cannot read the row counts of the new dump");
        expect(readdirSync(host.dir("dev"))).toEqual([]);
    });

    it("names a digest-pinned app by its digest, as a file name can hold it", () => {
        const host = fakeHost({ existing: ["seaser-postgres", "seaser-rezept-tagebuch"], image: `localhost/x@sha256:${"a".repeat(64)}` });
        expect(host.run(renderBackupScript(spec("prod"))).status).toBe(0);
        expect(readdirSync(host.dir("prod")).find((f) => f.endsWith(".dump"))).toMatch(new RegExp(`-${"a".repeat(64)}\\.dump$`));
    });

    it("says there is nothing to back up on a first deploy, and goes on", () => {
        const host = fakeHost({ existing: [] });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("nothing to back up: seaser-postgres-dev does not exist yet");
        expect(existsSync(host.dir("dev"))).toBe(false);
    });

    it("fails loudly, leaving no partial file and no backup, when pg_dump fails", () => {
        const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"], pgDumpFails: true });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("pg_dump in seaser-postgres-dev failed");
        expect(readdirSync(host.dir("dev"))).toEqual([]);
    });

    it("waits for a database that is still starting (the nightly catch-up at boot) before pg_dump, then backs up", () => {
        const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"], startingUpFor: 3 });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("rezept-tagebuch backup dev: seaser-postgres-dev accepts connections after 3 s");
        expect(readdirSync(host.dir("dev")).filter((f) => f.endsWith(".dump"))).toHaveLength(1);
    });

    it(`fails, naming the logs, when the database does not accept connections within ${DB_READY_SECONDS} s`, () => {
        const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"], startingUpFor: 100_000 });
        const result = host.run(renderBackupScript(spec("dev")));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`seaser-postgres-dev does not accept connections after ${DB_READY_SECONDS} s; see: podman logs --tail 50 seaser-postgres-dev`);
        expect(host.calls().filter((c) => c === "sleep 1")).toHaveLength(DB_READY_SECONDS);
        expect(host.calls().some((c) => c.includes("pg_dump"))).toBe(false);
    });

    it("fails, naming the unit to start, when the database is not running", () => {
        const host = fakeHost({ existing: ["seaser-postgres-test"], running: false });
        const result = host.run(renderBackupScript(spec("test")));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("systemctl --user start container-seaser-postgres-test.service");
    });

    describe("retention", () => {
        /** Puts backups made `ageDays` ago into the directory. */
        function seed(host: ReturnType<typeof fakeHost>, env: string, ageDays: number[]) {
            mkdirSync(host.dir(env), { recursive: true });
            return ageDays.map((days, i) => {
                const when = new Date(Date.now() - days * 86_400_000);
                const name = `${env}-${when.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "")}-old${i}.dump`;
                writeFileSync(join(host.dir(env), name), "old");
                writeFileSync(join(host.dir(env), name.replace(/\.dump$/, ".uploads.tar")), "old");
                utimesSync(join(host.dir(env), name), when, when);
                return name;
            });
        }
        const dumps = (host: ReturnType<typeof fakeHost>, env: string) => readdirSync(host.dir(env)).filter((f) => f.endsWith(".dump")).sort();

        it("keeps the newest `keep` backups and deletes the rest with their uploads", () => {
            const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"] });
            const old = seed(host, "dev", [5, 4, 3, 2]);
            expect(host.run(renderBackupScript(spec("dev", { keep: 3 }))).status).toBe(0);
            const left = dumps(host, "dev");
            expect(left).toHaveLength(3);
            expect(left.slice(0, 2)).toEqual([old[2], old[3]]);
            expect(readdirSync(host.dir("dev")).filter((f) => f.endsWith(".uploads.tar"))).toHaveLength(3);
        });

        it("deletes backups older than the maximum age, but never the newest good one", () => {
            const host = fakeHost({ existing: ["seaser-postgres-test"] });
            seed(host, "test", [40, 35, 2]);
            expect(host.run(renderBackupScript(spec("test", { keep: 10, maxAgeDays: 30 }))).status).toBe(0);
            expect(dumps(host, "test")).toHaveLength(2);
            // With only old backups and a failing dump, the newest old one stays.
            const failing = fakeHost({ existing: ["seaser-postgres-test"], pgDumpFails: true });
            const old = seed(failing, "test", [60, 50]);
            failing.run(renderBackupScript(spec("test", { keep: 1, maxAgeDays: 30 })));
            expect(dumps(failing, "test")).toEqual(old);
        });

        it("leaves other environments' backups alone", () => {
            const host = fakeHost({ existing: ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"] });
            mkdirSync(host.dir("dev"), { recursive: true });
            writeFileSync(join(host.dir("dev"), "prod-20250101T000000Z-v1.dump"), "prod");
            expect(host.run(renderBackupScript(spec("dev", { keep: 1, maxAgeDays: 1 }))).status).toBe(0);
            expect(dumps(host, "dev")).toContain("prod-20250101T000000Z-v1.dump");
        });
    });
});

describe("the restore script", () => {
    function withBackup(env: EnvironmentName, name: string) {
        const names = environmentNames(env);
        const host = fakeHost({ existing: [names.dbContainer, names.appContainer] });
        mkdirSync(host.dir(env), { recursive: true });
        writeFileSync(join(host.dir(env), name), "PGDMP-backup");
        writeFileSync(join(host.dir(env), name.replace(/\.dump$/, ".uploads.tar")), "tar");
        return host;
    }

    it("stops the app, restores, starts it again and prints the rows per table", () => {
        const host = withBackup("dev", "dev-20261128T030000Z-v1.0.0.dump");
        const result = host.run(renderRestoreScript(spec("dev")), ["dev-20261128T030000Z-v1.0.0.dump", "--uploads"]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(readFileSync(join(host.root, "restored"), "utf8")).toBe("PGDMP-backup");
        const calls = host.calls().filter((c) => /^(systemctl|pg_restore$|imported)/.test(c));
        expect(calls).toEqual([
            "systemctl --user stop container-seaser-rezept-tagebuch-dev.service",
            "pg_restore",
            expect.stringMatching(/^imported .*dev-20261128T030000Z-v1\.0\.0\.uploads\.tar into seaser-rezept-tagebuch-dev-volume$/),
            "systemctl --user start container-seaser-rezept-tagebuch-dev.service",
        ]);
        expect(result.stdout).toContain("public.recipes 3");
    });

    it.each([
        ["prod without confirmation", "prod", "prod-20261128T030000Z-v1.dump", [], "add --yes-overwrite-prod"],
        ["another environment's backup", "dev", "prod-20261128T030000Z-v1.dump", [], "add --copy-from-prod-into-dev"],
        ["a copy flag that names other environments", "dev", "prod-20261128T030000Z-v1.dump", ["--copy-from-test-into-dev"], "is a backup of prod, not of dev"],
        ["a copy into prod without confirmation", "prod", "dev-20261128T030000Z-v1.dump", ["--copy-from-dev-into-prod"], "add --yes-overwrite-prod"],
        ["an unknown flag", "dev", "dev-20261128T030000Z-v1.dump", ["--force"], "unknown argument --force"],
        ["a file that is not a backup", "dev", "dev-latest.dump", [], "is not a backup file"],
        ["a missing file", "dev", "dev-20991231T000000Z-v9.dump", [], "no backup"],
    ] as const)("refuses %s before it stops or changes anything", (_case, env, file, args, message) => {
        const host = withBackup(env, file === "dev-20991231T000000Z-v9.dump" ? "dev-20261128T030000Z-v1.dump" : file);
        const result = host.run(renderRestoreScript(spec(env)), [file, ...args]);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain(message);
        expect(host.calls().filter((c) => /systemctl|exec|import/.test(c))).toEqual([]);
    });

    it("lists the backups with time, tag and size", () => {
        const host = withBackup("dev", "dev-20261128T030000Z-rezept_version_10_11_2025_001.dump");
        const result = host.run(renderRestoreScript(spec("dev")), ["--list"]);
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/20261128T030000Z\s+rezept_version_10_11_2025_001\s+\S+\s+dev-20261128T030000Z-rezept_version_10_11_2025_001\.dump/);
        expect(host.calls()).toEqual([]);
    });

    it("copies prod data into dev only with the flag that names both", () => {
        const host = withBackup("dev", "prod-20261128T030000Z-v1.dump");
        const result = host.run(renderRestoreScript(spec("dev")), ["prod-20261128T030000Z-v1.dump", "--copy-from-prod-into-dev"]);
        expect(result.status).toBe(0);
        expect(readFileSync(join(host.root, "restored"), "utf8")).toBe("PGDMP-backup");
    });

    it("restores prod with the confirmation", () => {
        const host = withBackup("prod", "prod-20261128T030000Z-v1.dump");
        expect(host.run(renderRestoreScript(spec("prod")), ["prod-20261128T030000Z-v1.dump", "--yes-overwrite-prod"]).status).toBe(0);
    });
});

describe("the nightly backup units", () => {
    it.each(["user", "system"] as const)("pass systemd-analyze verify with no output (%s scope)", (scope) => {
        const dir = mkdtempSync(join(tmpdir(), `backup-units-${scope}-`));
        const units = renderBackupUnits({ ...spec("prod", { scope }), scriptPath: scriptPathInUnit(scope, "backup-prod.sh"), schedule: "*-*-* 03:00:00" });
        for (const [file, content] of Object.entries(units)) writeFileSync(join(dir, file), content);
        const result = spawnSync("systemd-analyze", [...(scope === "user" ? ["--user"] : []), "verify", ...Object.keys(units).map((f) => join(dir, f))], {
            cwd: dir, encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "xdg-runtime-")) },
        });
        expect(`${result.stdout}${result.stderr}`).toBe("");
        expect(result.status).toBe(0);
    });

    it("are installed with the scripts: the timer enabled and started, the oneshot only written, the scripts executable", () => {
        const host = fakeHost({ existing: [] });
        const units = renderBackupUnits({ ...spec("test"), scriptPath: scriptPathInUnit("user", "backup-test.sh"), schedule: "*-*-* 03:00:00" });
        const boot = { environment: "test" as const, scope: "user" as const, dbContainer: "seaser-postgres-test", dbHealthTimeoutSeconds: 120 };
        const result = host.run(renderInstallScript(boot, units, { "backup-test.sh": renderBackupScript(spec("test")) }));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const scriptFile = join(host.root, "home/.local/lib/rezept-tagebuch/backup-test.sh");
        expect(readFileSync(scriptFile, "utf8")).toBe(renderBackupScript(spec("test")));
        expect(statSync(scriptFile).mode & 0o777).toBe(0o755);
        expect(host.calls().filter((c) => c.startsWith("systemctl"))).toEqual([
            "systemctl --user daemon-reload",
            "systemctl --user enable rezept-tagebuch-backup-test.timer",
            "systemctl --user start rezept-tagebuch-backup-test.timer",
        ]);
        // Removing takes the timer, the service and the script, and leaves the backups.
        mkdirSync(host.dir("test"), { recursive: true });
        writeFileSync(join(host.dir("test"), "test-20261128T030000Z-none.dump"), "x");
        const removed = host.run(renderRemoveScript(boot, units, { "backup-test.sh": "" }));
        expect(removed.status).toBe(0);
        expect(existsSync(scriptFile)).toBe(false);
        expect(readdirSync(join(host.root, "home/.config/systemd/user"))).toEqual([]);
        expect(readdirSync(host.dir("test"))).toEqual(["test-20261128T030000Z-none.dump"]);
    });

    it("run the backup script from a persistent timer, on the configured schedule", () => {
        const units = renderBackupUnits({ ...spec("dev"), scriptPath: "/home/seaser/.local/lib/rezept-tagebuch/backup-dev.sh", schedule: "*-*-* 03:00:00" });
        expect(Object.keys(units).sort()).toEqual(["rezept-tagebuch-backup-dev.service", "rezept-tagebuch-backup-dev.timer"]);
        expect(units["rezept-tagebuch-backup-dev.timer"]).toContain("OnCalendar=*-*-* 03:00:00\nPersistent=true");
        expect(units["rezept-tagebuch-backup-dev.service"]).toContain("ExecStart=/bin/sh /home/seaser/.local/lib/rezept-tagebuch/backup-dev.sh");
        expect(units["rezept-tagebuch-backup-dev.service"]).toContain("Type=oneshot");
        // A oneshot the timer starts: no [Install], so the install script enables and starts only the timer.
        expect(units["rezept-tagebuch-backup-dev.service"]).not.toContain("[Install]");
    });
});

describe("the backup before a risky deploy, in the program", () => {
    const backupOf = (run: ProgramRun, env: string) => run.find(TYPES.localCommand, `${env}-backup-run`);
    const dependsOn = (resource: { dependencies: string[] }, name: string) => resource.dependencies.some((urn) => urn.endsWith(`::${name}`));

    it.each(["prod", "dev", "test"] as const)("comes before %s's containers, which depend on it", async (env) => {
        const run = await runProgram(env, validConfig(env));
        const backup = backupOf(run, env);
        expect(backup.inputs.create).toBe(renderBackupScript({
            ...spec(env, { keep: 14, maxAgeDays: 30, directory: `$HOME/rezept-tagebuch-backups/${env}` }),
        }));
        expect(backup.inputs.delete).toBeUndefined();
        // A change that is not a risk (backupKeep, backupDir) updates it without a backup.
        expect(backup.inputs.update).toBe("true");
        // The app container through its standby (components/app.ts), which comes first.
        const standby = run.ofType(TYPES.localCommand).find((r) => r.name === `${env}-app-standby`);
        if (standby) expect(dependsOn(standby, `${env}-backup-run`)).toBe(true);
        for (const container of run.ofType(TYPES.container)) {
            const direct = dependsOn(container, `${env}-backup-run`);
            expect(direct || (standby !== undefined && dependsOn(container, standby.name)), container.name).toBe(true);
        }
        // ...and it runs only on a host that passed the stack's host check, as everything else.
        expect(dependsOn(backup, `${env}-host-check-run`)).toBe(true);
    });

    it("runs again for a new app image or database image, and not for a new password alone", async () => {
        const triggers = async (config: Record<string, string>) => backupOf(await runProgram("dev", config), "dev").inputs.triggers;
        const base = await triggers(validConfig("dev"));
        expect(await triggers({ ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:rezept_version_13_11_2025_001" })).not.toEqual(base);
        expect(await triggers({ ...validConfig("dev"), dbImage: "docker.io/library/postgres:16.4-alpine" })).not.toEqual(base);
        expect(await triggers({ ...validConfig("dev"), dbDataVolume: "another-volume" })).not.toEqual(base);
        expect(await triggers({ ...validConfig("dev"), dbPassword: "a-new-long-password" })).toEqual(base);
        expect(JSON.stringify(base)).not.toContain("s3cret-pg-password");
    });

    it("writes into backupDir, a folder per stack, keeping what backupKeep and backupMaxAgeDays say", async () => {
        const run = await runProgram("prod", { ...validConfig("prod"), backupDir: "/srv/backups/", backupKeep: "5", backupMaxAgeDays: "7" });
        const script = backupOf(run, "prod").inputs.create as string;
        expect(readScriptParams(script)).toMatchObject({ backup_dir: "/srv/backups/prod", keep: "5", max_age_minutes: "10080" });
    });
});
