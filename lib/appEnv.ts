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
