/** One request of the boot poller (e2e/images/probe.py poll): when it started, which URL, what came back. */
export interface PollLine {
    readonly t: number;
    readonly url: string;
    /** An HTTP status, or why no answer came: refused, unresolved, unreachable, timeout, error:... */
    readonly r: string;
}

/** What users of one app saw from boot on. */
export interface AppBoot {
    /** Seconds from boot to the first 200, or null if none came while the poller ran. */
    readonly first_ok_s: number | null;
    /** Requests in the window, by kind. */
    readonly requests: number;
    readonly ok: number;
    /** The app answered, without its database: what users saw in the incident. */
    readonly answers_5xx: number;
    /** No connection: refused, the name not resolving yet, or no route (the app not up yet). */
    readonly not_up: number;
    /** Anything else (a timeout, a 4xx). */
    readonly other: number;
    readonly by_result: Readonly<Record<string, number>>;
    /** Requests after the app's first 200 that did not get a 200. */
    readonly failed_after_first_ok: number;
}

export interface BootSummary {
    /** Seconds from boot to the moment every app had answered 200 once; null if one never did. */
    readonly boot_to_all_apps_200_s: number | null;
    /** Seconds from boot to the poller's first request: nothing before it is counted. */
    readonly poller_first_request_s: number | null;
    /** Seconds from boot to its last request. */
    readonly poller_last_request_s: number | null;
    readonly window_s: number;
    readonly apps: Readonly<Record<string, AppBoot>>;
}

import { round } from "./wait";

const NOT_UP = new Set(["refused", "unresolved", "unreachable"]);
const isServerError = (r: string) => /^\d+$/.test(r) && Number(r) >= 500;

/**
 * Sums the poller's lines per app: counts over [boot, boot + windowS); the first 200
 * over everything the poller saw (it may poll past the window to find it).
 */
export function summarizeBoot(lines: readonly PollLine[], urls: Readonly<Record<string, string>>, bootedAt: number, windowS: number): BootSummary {
    const apps: Record<string, AppBoot> = {};
    for (const [app, url] of Object.entries(urls)) {
        const mine = lines.filter((line) => line.url === url).sort((a, b) => a.t - b.t);
        const firstOk = mine.find((line) => line.r === "200");
        const counted = mine.filter((line) => line.t < bootedAt + windowS);
        const by: Record<string, number> = {};
        for (const line of counted) by[line.r] = (by[line.r] ?? 0) + 1;
        const count = (test: (r: string) => boolean) => counted.filter((line) => test(line.r)).length;
        apps[app] = {
            first_ok_s: firstOk ? round(firstOk.t - bootedAt) : null,
            requests: counted.length,
            ok: count((r) => r === "200"),
            answers_5xx: count(isServerError),
            not_up: count((r) => NOT_UP.has(r)),
            other: count((r) => r !== "200" && !isServerError(r) && !NOT_UP.has(r)),
            by_result: by,
            failed_after_first_ok: firstOk ? counted.filter((line) => line.t > firstOk.t && line.r !== "200").length : 0,
        };
    }
    const firsts = Object.values(apps).map((a) => a.first_ok_s);
    const first = lines.length > 0 ? Math.min(...lines.map((line) => line.t)) : null;
    const last = lines.length > 0 ? Math.max(...lines.map((line) => line.t)) : null;
    return {
        boot_to_all_apps_200_s: firsts.some((f) => f === null) ? null : Math.max(...(firsts as number[])),
        poller_first_request_s: first === null ? null : round(first - bootedAt),
        poller_last_request_s: last === null ? null : round(last - bootedAt),
        window_s: windowS,
        apps,
    };
}

/** Parses the poller's output, ignoring anything that is not one of its lines. */
export function parsePollLines(output: string): PollLine[] {
    return output.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as PollLine)
        .filter((line) => typeof line.t === "number" && typeof line.url === "string" && typeof line.r === "string");
}

/** The runs of failed requests among `lines` (in time order), each from its first failure to the 200 after it. */
function outageRuns(lines: readonly PollLine[]): { outages: number; outage_seconds: (number | null)[] } {
    const seconds: (number | null)[] = [];
    let failedSince: number | null = null;
    for (const line of lines) {
        if (line.r !== "200" && failedSince === null) failedSince = line.t;
        if (line.r === "200" && failedSince !== null) {
            seconds.push(round(line.t - failedSince));
            failedSince = null;
        }
    }
    if (failedSince !== null) seconds.push(null);
    return { outages: seconds.length, outage_seconds: seconds };
}

/** What users of one app saw during a change (a deploy): one outage, from the first failed request to the first 200 after it. */
export interface Outage {
    /** Requests from the change on that got no 200. */
    readonly failed: number;
    /** Epoch seconds of the first failed request, and of the first 200 after it; null if none. */
    readonly first_failed_at: number | null;
    readonly back_at: number | null;
    /** Seconds from the first failed request to the first 200 after it (0 if none failed; null if it never came back). */
    readonly outage_s: number | null;
    /** Failed requests after the app was back: a second outage, or flapping. */
    readonly failed_after_back: number;
    /** Failed requests that got an answer 500 or above: through a proxy, its 502/504 for an app it could not reach. */
    readonly answers_5xx: number;
    /** Separate outages: runs of failed requests with a 200 between them. */
    readonly outages: number;
    /** The seconds of each outage, from its first failed request to the 200 that ended it (the last may be null: not back). */
    readonly outage_seconds: readonly (number | null)[];
    readonly by_result: Readonly<Record<string, number>>;
}

export function summarizeOutage(lines: readonly PollLine[], url: string, changeAt: number): Outage {
    const mine = lines.filter((line) => line.url === url && line.t >= changeAt).sort((a, b) => a.t - b.t);
    const by: Record<string, number> = {};
    for (const line of mine) by[line.r] = (by[line.r] ?? 0) + 1;
    const firstFailed = mine.find((line) => line.r !== "200");
    const back = firstFailed && mine.find((line) => line.t > firstFailed.t && line.r === "200");
    return {
        failed: mine.filter((line) => line.r !== "200").length,
        first_failed_at: firstFailed?.t ?? null,
        back_at: back ? back.t : null,
        outage_s: !firstFailed ? 0 : back ? round(back.t - firstFailed.t) : null,
        failed_after_back: back ? mine.filter((line) => line.t > back.t && line.r !== "200").length : 0,
        answers_5xx: mine.filter((line) => isServerError(line.r)).length,
        ...outageRuns(mine),
        by_result: by,
    };
}
