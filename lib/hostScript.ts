import { readFileSync } from "node:fs";
import { join } from "node:path";
import { quote } from "shell-quote";

/**
 * The scripts that run on the Podman host are POSIX sh files in host/ (their shared functions in
 * host/lib/), read from beside this module whichever checkout runs the program. A script's
 * parameters are the one thing rendered: a block of assignments after its header comment, every
 * value one word quoted by shell-quote. Secrets never become parameters (they reach the host on a
 * command's stdin, as before). Nothing rendered names this checkout: the text is the file's, the
 * values the stack's.
 */
export const HOST_SCRIPT_DIR = join(__dirname, "..", "host");

/**
 * A parameter's value. A record is a set of files: the parameter holds their names, one a line,
 * and `<name>_1`, `<name>_2`, ... their contents in that order (a script reads them by number).
 */
export type ScriptParam = string | number | Readonly<Record<string, string>>;
export type ScriptParams = Readonly<Record<string, ScriptParam>>;

/** A file name a list parameter may hold: no white space or glob characters, so `for name in $list` reads it back. */
const LISTED_NAME = /^[A-Za-z0-9@._-]+$/;

/** `. "$(dirname "$0")/lib/NAME.sh"`: a library the renderer puts in the script's place (with the shellcheck line before it). */
const SOURCE_LINE = /^(?:# shellcheck source=(lib\/[a-z0-9-]+\.sh)\n)?\. "\$\(dirname "\$0"\)\/(lib\/[a-z0-9-]+\.sh)"$/gm;

/** The leading comment lines of a script (its shebang, what it does, its parameters) and the rest. */
function splitHeader(text: string): [string, string] {
    const lines = text.split("\n");
    const end = lines.findIndex((line) => !line.startsWith("#"));
    return [lines.slice(0, end).map((line) => `${line}\n`).join(""), lines.slice(end).join("\n")];
}

/** The names under `# Parameters...:` in a header: `#   name  meaning`, continued by lines indented further. */
function declaredParameters(header: string): string[] {
    const lines = header.split("\n");
    const start = lines.findIndex((line) => /^# Parameters\b.*:$/.test(line));
    if (start < 0) return [];
    const names: string[] = [];
    for (const line of lines.slice(start + 1)) {
        const declared = /^# {3}([a-z][a-z0-9_]*)(?: {2,}|$)/.exec(line);
        if (declared) names.push(declared[1]);
        else if (!/^# {4,}\S/.test(line)) break;
    }
    return names;
}

function readHostFile(dir: string, file: string): string {
    return readFileSync(join(dir, file), "utf8");
}

/**
 * A library as it is put into a script: its code and shellcheck directives, without its comments. A
 * command's script is one argument of `sh -c`, which Linux limits to 128 KiB (MAX_ARG_STRLEN), and
 * the unit installer carries every installed script, each with its libraries: their comments, read
 * in host/lib/, would take a quarter of it.
 */
function libraryText(dir: string, file: string): string {
    return readHostFile(dir, file).replace(/\n$/, "").split("\n")
        .filter((line) => !/^\s*#/.test(line) || (/^\s*# shellcheck /.test(line) && !/^# shellcheck shell=/.test(line))).join("\n");
}

/** Every library a script sources, with those they source, each once, in the order they are first sourced. */
function librariesOf(dir: string, text: string): string[] {
    const all = [...text.matchAll(SOURCE_LINE)].flatMap((match) => [match[2], ...librariesOf(dir, readHostFile(dir, match[2]))]);
    return [...new Set(all)];
}

/**
 * One value as one word, as shell-quote quotes it; where it would write a bare word (with a
 * backslash before each `:`, `@`, `$` ...), in single quotes, as it quotes a value with spaces:
 * read as easily as written, and every value reads as a string (`unit=container-x.service` reads
 * to shellcheck as arithmetic where a variable is called `container`). A number stays bare.
 */
function word(value: string | number): string {
    if (typeof value === "number") return String(value);
    const quoted = quote([value]);
    return /^['"]/.test(quoted) || value.includes("'") ? quoted : `'${value}'`;
}

/** A shellcheck directive for the command that follows: a `$` in single quotes is the value's own, not an expansion gone wrong. */
function directive(codes: string[], words: string[], why: string): string {
    const all = [...codes, ...(words.some((w) => /'[^']*[$`]/.test(w)) ? ["SC2016"] : [])];
    return all.length ? `# shellcheck disable=${all.join(",")} # ${why}\n` : "";
}

function assignment(name: string, value: ScriptParam): string {
    if (typeof value !== "object") {
        const quoted = word(value);
        return `${directive([], [quoted], "a value, not an expansion")}${name}=${quoted}\n`;
    }
    const files = Object.entries(value);
    for (const [file] of files) {
        if (!LISTED_NAME.test(file)) throw new Error(`${name}: the file name ${JSON.stringify(file)} cannot be listed in a parameter`);
    }
    const names = `${name}=${word(files.map(([file]) => file).join("\n"))}\n`;
    if (files.length === 0) return names;
    // One command of assignments, so that one directive covers them all.
    const contents = files.map(([, content]) => word(content));
    return names + directive(["SC2034"], contents, `read by number: the n-th file of ${name} is ${name}_<n>`) +
        contents.map((quoted, i) => `${name}_${i + 1}=${quoted}`).join(" \\\n") + "\n";
}

/**
 * host/`file` with `params` set at its top, after the header that names them, and each library it
 * sources put in place. Every parameter the header (or a library's) names must be given, and only
 * those: a parameter the script does not know is a mistake here, not a variable nobody reads.
 */
export function renderHostScript(file: string, params: ScriptParams, dir: string = HOST_SCRIPT_DIR): string {
    const [header, body] = splitHeader(readHostFile(dir, file));
    const declared = [...new Set([header, ...librariesOf(dir, body).map((lib) => splitHeader(readHostFile(dir, lib))[0])].flatMap(declaredParameters))];
    const unknown = Object.keys(params).filter((name) => !declared.includes(name));
    const missing = declared.filter((name) => !(name in params));
    if (unknown.length > 0 || missing.length > 0) {
        throw new Error(`${file}: ${[...(unknown.length ? [`unknown parameters ${unknown.join(", ")}`] : []), ...(missing.length ? [`parameters not given: ${missing.join(", ")}`] : [])].join("; ")}`);
    }
    const block = declared.map((name) => assignment(name, params[name])).join("");
    // Where it comes from, for the operator who reads it on the host; a blank line after the block: where it ends for a reader (readScriptParams).
    return `${header}# host/${file}, with the parameters pulumi up gives it:\n${block}\n${inline(dir, body)}`;
}

/** The text with each library in place of the first line that sources it; a library sourced again is there already. */
function inline(dir: string, text: string, seen = new Set<string>()): string {
    return text.replace(SOURCE_LINE, (_line, _directive, lib: string) => {
        if (seen.has(lib)) return `# (host/${lib}: above)`;
        seen.add(lib);
        return `# host/${lib} (its comments are there):\n${inline(dir, libraryText(dir, lib), seen)}`;
    });
}

/**
 * The parameters a rendered script was given: its block read back as sh reads it (the quoting
 * shell-quote writes: bare words with backslashes, '...', "..." and their concatenation). For
 * what checks the rendered text: the tests and the policy pack.
 */
export function readScriptParams(script: string): Record<string, string> {
    const [, body] = splitHeader(script);
    const params: Record<string, string> = {};
    let i = 0;
    const at = (offset = 0) => body[i + offset];
    // A line at a time: a comment, or NAME=WORD (continued by " \\" onto the next line); a blank line ends the block.
    for (;;) {
        if (at() === "#") {
            const next = body.indexOf("\n", i);
            if (next < 0) break;
            i = next + 1;
            continue;
        }
        const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(body.slice(i));
        if (!name) break;
        i += name[0].length;
        let value = "";
        while (i < body.length && !/\s/.test(at())) {
            if (at() === "'") {
                const end = body.indexOf("'", i + 1);
                value += body.slice(i + 1, end);
                i = end + 1;
            } else if (at() === '"') {
                for (i++; at() !== '"'; i++) {
                    if (at() === "\\" && /[$`"\\\n]/.test(at(1))) { i++; if (at() !== "\n") value += at(); } else value += at();
                }
                i++;
            } else {
                if (at() === "\\") i++;
                value += at();
                i++;
            }
        }
        params[name[1]] = value;
        if (body.startsWith(" \\\n", i)) i += 3;
        else if (at() === "\n") i++;
        else break;
    }
    return params;
}

/** The files of a list parameter of a rendered script: name to content. */
export function readScriptFiles(script: string, name: string): Record<string, string> {
    const params = readScriptParams(script);
    const names = params[name] ? params[name].split("\n") : [];
    return Object.fromEntries(names.map((file, i) => [file, params[`${name}_${i + 1}`]]));
}
