import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../lib/config";

/** The fix line of the error that `raw` causes. */
function fixFor(raw: Record<string, string>): string {
    try {
        parseStackConfig("dev", { appImage: "localhost/x:v1.0.0", ...raw });
    } catch (error) {
        return String(error).split("\n").find((line) => line.includes("fix:"))!.split("fix: ")[1];
    }
    throw new Error(`no error for ${JSON.stringify(raw)}`);
}

// A value on the command line stays in shell history and shows in `ps`: the hints for
// secrets name the forms that prompt or read standard input.
describe("the fix lines for secrets never put the secret on the command line", () => {
    it.each([
        ["dbPassword", {}],
        ["dbPassword", { dbPassword: "short" }],
        ["appSecretEnv", { dbPassword: "long-enough-pw", appSecretEnv: '{"A":1}' }],
        ["alertWebhookUrl", { dbPassword: "long-enough-pw", alertWebhookUrl: "not-a-url" }],
        ["sshPrivateKey", { dbPassword: "long-enough-pw", hostConnection: "ssh", sshHost: "h", sshUser: "seaser", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh", dockerHost: "ssh://seaser@h", sshPrivateKey: "nope" }],
    ] as const)("%s (%j)", (key, raw) => {
        const fix = fixFor(raw);
        expect(fix).toMatch(new RegExp(`^npm run stack -- config \\w+ set --secret ${key}( \\(| <)`));
        // No value after the key anywhere in the line (a placeholder like <password> counts as
        // one): only a note "(" or a redirection "< file".
        expect(fix).not.toMatch(/--secret \w+ (?!\(|< )\S/);
    });
});
