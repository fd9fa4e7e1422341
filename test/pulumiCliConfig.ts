/**
 * What the Pulumi CLI does with Pulumi.yaml's `config:` and a stack file before the
 * program runs, modelled on pulumi/pulumi sdk/go/common/workspace (mergeConfig,
 * validateStackConfigValues, validateStackConfigValue, ValidateConfigValue; the
 * same code backs `pulumi preview`, `pulumi up` and, without the value checks,
 * `pulumi config get`):
 * - a declared key that the stack does not set and that has neither `default` nor
 *   `value` is missing: "Stack 'dev' is missing configuration value 'appEnabled'";
 * - a default is copied into the stack's config as a plain (not `secure:`) value;
 * - then every explicitly typed key is checked: a `secret: true` key whose value is
 *   not `secure:` fails ("must be encrypted as it's secret", which a default always
 *   is), and the value must fit the type (integer: strconv.Atoi; boolean: "true" or
 *   "false"; string: a string).
 */

export interface ProjectKey {
    readonly type?: string;
    readonly default?: unknown;
    readonly value?: unknown;
    readonly secret?: boolean;
}

/** A stack file's entry: a plain value, or `{ secure: ciphertext }` as `pulumi config set --secret` writes it. */
export type StackValue = string | number | boolean | { secure: string };

export interface MergedConfig {
    /** Keys without the project prefix to the values the program sees (secure ones decrypted by `decrypt`). */
    readonly values: Record<string, string>;
    readonly secretKeys: string[];
    /** The CLI's errors; it stops at the first, here all are listed. */
    readonly errors: string[];
}

const isSecure = (value: StackValue): value is { secure: string } => typeof value === "object" && value !== null && "secure" in value;

function fitsType(type: string, value: string): boolean {
    if (type === "string") return true;
    if (type === "integer") return /^[+-]?\d+$/.test(value);
    if (type === "boolean") return value === "true" || value === "false";
    return false;
}

export function applyProjectConfig(
    project: { name: string; config: Record<string, ProjectKey> },
    stackName: string,
    stackConfig: Record<string, StackValue>,
    decrypt: (ciphertext: string) => string = (ciphertext) => ciphertext,
): MergedConfig {
    const prefix = `${project.name}:`;
    const merged = new Map<string, StackValue>();
    for (const [fullKey, value] of Object.entries(stackConfig)) {
        merged.set(fullKey.startsWith(prefix) ? fullKey.slice(prefix.length) : fullKey, value);
    }
    const missing: string[] = [];
    for (const key of Object.keys(project.config).sort()) {
        const declared = project.config[key];
        if (merged.has(key)) continue;
        const fallback = declared.default ?? declared.value;
        if (fallback === undefined) missing.push(key);
        else merged.set(key, typeof fallback === "object" ? JSON.stringify(fallback) : String(fallback));
    }
    const errors: string[] = [];
    if (missing.length > 0) {
        const list = missing.length === 1 ? `'${missing[0]}'` : `${missing.slice(0, -1).map((k) => `'${k}'`).join(", ")} and '${missing.at(-1)}'`;
        errors.push(`Stack '${stackName}' is missing configuration value${missing.length > 1 ? "s" : ""} ${list}`);
    }
    for (const key of Object.keys(project.config).sort()) {
        const declared = project.config[key];
        const value = merged.get(key);
        if (value === undefined || declared.type === undefined) continue;
        if (declared.secret && !isSecure(value)) {
            errors.push(`Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`);
            continue;
        }
        const text = isSecure(value) ? decrypt(value.secure) : String(value);
        if (!fitsType(declared.type, text)) errors.push(`Stack '${stackName}' with configuration key '${key}' must be of type '${declared.type}'`);
    }
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of merged) {
        values[key] = isSecure(value) ? decrypt(value.secure) : String(value);
        if (isSecure(value)) secretKeys.push(key);
    }
    return { values, secretKeys, errors };
}
