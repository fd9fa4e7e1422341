import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The checkout the suite runs from. */
const ORIGIN = join(__dirname, "..");

/** What `pulumi up` loads from a checkout: the program, its project and stack files, and its packages. */
const PROGRAM_PARTS = ["index.ts", "components", "lib", "policy", "package.json", "tsconfig.json"];

/**
 * A second checkout of the program at another path, as an operator's second clone or a CI runner's
 * workspace has it: the program's files copied, node_modules linked (its packages are not the program,
 * and @pulumi/pulumi must be the one the mocks are set on, which a link resolves to). `move()` moves
 * the folder away, as `mv` would; `remove()` removes wherever it is now.
 */
export class SecondCheckout {
    private constructor(public dir: string) {}

    static create(): SecondCheckout {
        const dir = mkdtempSync(join(tmpdir(), "rezept-tagebuch-elsewhere-"));
        const stackFiles = readdirSync(ORIGIN).filter((file) => /^Pulumi(\.[a-z]+)?\.yaml$/.test(file));
        for (const part of [...PROGRAM_PARTS, ...stackFiles]) {
            if (existsSync(join(ORIGIN, part))) cpSync(join(ORIGIN, part), join(dir, part), { recursive: true });
        }
        symlinkSync(join(ORIGIN, "node_modules"), join(dir, "node_modules"));
        return new SecondCheckout(dir);
    }

    /** Moves the folder to a new name beside it; returns where it was. */
    move(): string {
        const was = this.dir;
        this.dir = `${was}-moved`;
        renameSync(was, this.dir);
        return was;
    }

    remove(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}
