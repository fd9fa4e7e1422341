import { EnvironmentName } from "./environments";

/** An image reference split into its parts: `repository[:tag][@sha256:digest]`. */
export interface ImageRef {
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+|__)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The release convention of the project (`tag-version.sh`): rezept_version_DD_MM_YYYY_NNN. */
const RELEASE_TAG = /^rezept_version_\d{2}_\d{2}_\d{4}_\d{3}$/;
const SEMVER_LIKE_TAG = /^v?\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$/;

export const ACCEPTED_FORMS =
    "name:rezept_version_10_11_2025_001, a semver-like tag such as name:v25.11.10, or name@sha256:<64 hex digits>";

/** Parses a reference; returns a reason string instead when it is malformed. */
export function parseImageRef(ref: string): ImageRef | string {
    const [nameAndTag, digest, ...rest] = ref.split("@");
    if (rest.length > 0) return "has more than one '@'";
    if (digest !== undefined && !DIGEST.test(digest)) return `digest "${digest}" is not sha256:<64 hex digits>`;
    const slash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.lastIndexOf(":");
    const hasTag = colon > slash;
    const repository = hasTag ? nameAndTag.slice(0, colon) : nameAndTag;
    const tag = hasTag ? nameAndTag.slice(colon + 1) : undefined;
    if (!REPOSITORY.test(repository)) return `repository "${repository}" is not a valid image name (lowercase, e.g. localhost/seaser-rezept-tagebuch)`;
    if (tag !== undefined && !TAG.test(tag)) return `tag "${tag}" is not a valid tag`;
    return { repository, tag, digest };
}

export function isVersioned(ref: ImageRef): boolean {
    return ref.digest !== undefined || (ref.tag !== undefined && (RELEASE_TAG.test(ref.tag) || SEMVER_LIKE_TAG.test(ref.tag)));
}

/** What the app reports as APP_VERSION: the tag, or the digest when there is none. */
export function imageVersion(ref: ImageRef): string {
    return ref.tag ?? ref.digest!;
}

export type ImagePolicyResult = { ok: true; ref: ImageRef; warning?: string } | { ok: false; reason: string };

/**
 * The image policy from the incident: prod must run a versioned image so a
 * rollback is a config change; `:latest` (or no tag, which means latest) is
 * refused everywhere; other environments may run a moving tag such as `:dev`,
 * with a warning.
 */
export function checkAppImage(env: EnvironmentName, value: string): ImagePolicyResult {
    const parsed = parseImageRef(value);
    if (typeof parsed === "string") return { ok: false, reason: `"${value}" ${parsed}` };
    if (parsed.tag === "latest") return { ok: false, reason: `"${value}" uses the moving tag ":latest", which cannot be rolled back` };
    if (parsed.tag === undefined && parsed.digest === undefined) {
        return { ok: false, reason: `"${value}" has no tag, which means ":latest"` };
    }
    if (isVersioned(parsed)) return { ok: true, ref: parsed };
    if (env === "prod") return { ok: false, reason: `"${value}" uses the moving tag ":${parsed.tag}"; prod runs versioned images only` };
    return { ok: true, ref: parsed, warning: `appImage "${value}" is not a versioned image; ${env} accepts it, but a rollback cannot return to it` };
}

/** Images other than the app's (PostgreSQL): any explicit tag or digest except `:latest`. */
export function checkPinnedImage(value: string): ImagePolicyResult {
    const parsed = parseImageRef(value);
    if (typeof parsed === "string") return { ok: false, reason: `"${value}" ${parsed}` };
    if (parsed.tag === "latest" || (parsed.tag === undefined && parsed.digest === undefined)) {
        return { ok: false, reason: `"${value}" is not pinned (no tag, or ":latest")` };
    }
    return { ok: true, ref: parsed };
}
