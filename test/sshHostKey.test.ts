import { describe, expect, it } from "vitest";
import { ConfigError, parseHostKey, parseStackConfig } from "../lib/config";
import { runProgram, TYPES, validConfig } from "./harness";

// Public keys made with ssh-keygen for these tests (public, not secrets).
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQD1w9Zu1eioKy3skPw5/6OqO6euM0hqk0SpQLj7FIuQsdzH0Ji3ObB9fvjxFUGZYwid4MYrEJfommxq6TjgW7YgD82cHTQdI7QxxuW26aRjAAON9oh2HKrXuw0oz2XKI7Sagsg5Jj9gnMtT+zkrKNBWFanDkKsdvr24A4PNof/5SB80rv1GuLcW3qiQirisZEYMNMMmvNaQiPSz5+xjh47tzQC1KR5KiHphvRraBJkAwzYBpZwXAsN8xoaYYMiTQl+3kBLX7ymZa4CJHolTL6fM1QLrLs2Fw39sRTBG5Ip1At4jDwpiC4WjSZPZNFHg9o5vtF0Si3v4xqGRG4b5UsSI6f1XlT2891ClzMD2MHdOnxCnlLmWMlPAtU2t55CVlw17S/WChCBTwdgx1sVOhhWlOK1qZ3O0NVHaLUg6yT/Gp4SgoywZ4rWs+6S/ppH+pNJeAr+I87CyOBlFdWchrRhi3BC/C7sqaTpwuL1haqAikB7FsbVxh3APfpUSWf/NY9c=";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPP2OFoycy2G1D9+DR9SOENdEkNdEuTAa3+v/CFePY7ifbov5Cf94XiYwwt+FlFIxZh+Og3tTAeftX/kCtkftuQ=";

const ssh = (extra: Record<string, string>) => ({
    ...validConfig("prod"), hostConnection: "ssh", sshHost: "rezept.example", sshUser: "seaser",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material\n-----END OPENSSH PRIVATE KEY-----", dockerHost: "ssh://seaser@rezept.example",
    ...extra,
});
const problems = (raw: Record<string, string>): string[] => {
    try {
        parseStackConfig("prod", raw);
        return [];
    } catch (error) {
        if (error instanceof ConfigError) return [...error.problems];
        throw error;
    }
};

describe("SSH connections trust only the configured host key", () => {
    it("refuses hostConnection ssh without sshHostKey, naming the key and how to get it", () => {
        const found = problems(ssh({}));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(/^rezept-tagebuch:sshHostKey is required when hostConnection is ssh .*; fix: npm run stack -- config \w+ set sshHostKey .*ssh-keyscan/);
    });

    it("passes the key to every remote command, so the provider's host key check replaces InsecureIgnoreHostKey", async () => {
        const run = await runProgram("prod", ssh({ sshHostKey: `rezept.example ${ED25519}` }));
        const remotes = run.ofType(TYPES.remoteCommand);
        expect(remotes.length).toBeGreaterThan(3);
        for (const remote of remotes) expect(remote.inputs.connection.hostKey).toBe(ED25519);
    });

    it.each([
        ["an ssh-keyscan line", `rezept.example ${ED25519}`, ED25519],
        ["a hashed known_hosts line", `|1|aGFzaA==|c2FsdA== ${ECDSA}`, ECDSA],
        ["a .pub file with its comment", `${ECDSA} root@rezept-host`, ECDSA],
        ["the bare key", ED25519, ED25519],
        ["an RSA key", `rezept.example ${RSA}`, RSA],
    ])("reads %s as <type> <base64>", (_, line, key) => {
        expect(parseHostKey(line)).toEqual({ ok: true, key });
    });

    it.each([
        ["a fingerprint", "SHA256:bP9MqVSm3q9c8o+kF1oO5Gm8i8u0HDTpVvYEk1CzB5E", "is not a host key line"],
        ["a type without data", "rezept.example ssh-ed25519", "is not a host key line"],
        ["a key cut short", ED25519.slice(0, 40), "is a ssh-ed25519 line whose data is not a whole ssh-ed25519 key"],
        ["data of another type", `ssh-rsa ${ED25519.split(" ")[1]}`, "is a ssh-rsa line whose data is not a whole ssh-rsa key"],
        ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", "is not a host key line"],
    ])("refuses %s", (_, line, reason) => {
        const parsed = parseHostKey(line);
        expect(parsed.ok).toBe(false);
        expect(!parsed.ok && parsed.reason).toContain(reason);
        expect(problems(ssh({ sshHostKey: line })).join("\n")).toContain(`rezept-tagebuch:sshHostKey ${reason}`);
    });
});
