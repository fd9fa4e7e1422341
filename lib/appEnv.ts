import { EnvironmentName } from "./environments";

/** What the app's environment is derived from: its database, its image and its environment. */
export interface DerivedAppSettings {
    readonly environment: EnvironmentName;
    readonly version: string;
    readonly dbHost: string;
    readonly dbPort: number;
    readonly dbName: string;
    readonly dbUser: string;
    readonly dbPassword: string;
}

/** The variables the program derives, so the app cannot point at another environment's database. */
function derivedVariables(settings: DerivedAppSettings): Record<string, string> {
    return {
        DB_TYPE: "postgresql",
        APP_VERSION: settings.version,
        POSTGRES_HOST: settings.dbHost,
        POSTGRES_PORT: `${settings.dbPort}`,
        POSTGRES_DB: settings.dbName,
        POSTGRES_USER: settings.dbUser,
        POSTGRES_PASSWORD: settings.dbPassword,
        ...(settings.environment === "dev" ? { DEV_MODE: "true" } : {}),
    };
}

/** Names the config's env maps may not set: every variable the program derives, in any environment. */
export const MANAGED_APP_ENV: readonly string[] = Object.keys(derivedVariables({
    environment: "dev", version: "", dbHost: "", dbPort: 0, dbName: "", dbUser: "", dbPassword: "",
}));

/** The app's environment: the extra settings, then the derived variables over them. Sorted for stable diffs. */
export function renderAppEnv(settings: DerivedAppSettings & {
    env: Readonly<Record<string, string>>;
    secretEnv: Readonly<Record<string, string>>;
}): string[] {
    const vars: Record<string, string> = { ...settings.env, ...settings.secretEnv, ...derivedVariables(settings) };
    return Object.keys(vars).sort().map((name) => `${name}=${vars[name]}`);
}

/** DEV_MODE as the program sets it: "true" in dev, unset elsewhere. */
export function expectedDevMode(environment: EnvironmentName): string | undefined {
    return derivedVariables({ environment, version: "", dbHost: "", dbPort: 0, dbName: "", dbUser: "", dbPassword: "" }).DEV_MODE;
}

/**
 * What is wrong with an app's environment as it runs or is registered: its
 * POSTGRES_HOST must be one of `ownDatabases` (the incident: dev pointed at prod),
 * and DEV_MODE is set in dev only. Names only the variables, never other values.
 */
export function appEnvProblems(environment: EnvironmentName, vars: Readonly<Record<string, string>>, ownDatabases: readonly string[]): string[] {
    const problems: string[] = [];
    const host = vars.POSTGRES_HOST;
    if (!ownDatabases.includes(host)) {
        problems.push(`POSTGRES_HOST is ${host === undefined ? "unset" : `"${host}"`}, not the ${environment} database (${ownDatabases.join(", ") || "none"})`);
    }
    const devMode = expectedDevMode(environment);
    if (vars.DEV_MODE !== devMode) {
        problems.push(devMode === undefined ? `DEV_MODE is set in ${environment}; it belongs to dev only` : `DEV_MODE is ${vars.DEV_MODE === undefined ? "unset" : `"${vars.DEV_MODE}"`} in ${environment}, expected "${devMode}"`);
    }
    return problems;
}

/** Parses `NAME=value` lines (a container's env) into a map. */
export function parseEnvLines(lines: readonly string[]): Record<string, string> {
    return Object.fromEntries(lines.map((line) => {
        const at = line.indexOf("=");
        return at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
    }));
}
