import { describe, expect, it } from "vitest";
import { parsePollLines, summarizeBoot, summarizeOutage } from "../e2e/bootPoll";

const A = "http://a/api/recipes";
const B = "http://b/api/recipes";
const line = (t: number, url: string, r: string) => ({ t, url, r });

describe("the boot poller's figures (e2e/bootPoll.ts)", () => {
    const lines = [
        line(101, A, "unresolved"), line(101.1, A, "refused"), line(102, A, "500"), line(103, A, "200"), line(104, A, "503"), line(140, A, "500"),
        line(101, B, "unreachable"), line(105, B, "timeout"), line(106, B, "404"), line(135, B, "200"),
    ];
    const summary = summarizeBoot(lines, { a: A, b: B }, 100, 30);

    it("counts 5xx (up without its database) apart from no connection (not up), only within the window", () => {
        expect(summary.apps.a).toMatchObject({ requests: 5, ok: 1, answers_5xx: 2, not_up: 2, other: 0, failed_after_first_ok: 1, first_ok_s: 3 });
        expect(summary.apps.b).toMatchObject({ requests: 3, ok: 0, answers_5xx: 0, not_up: 1, other: 2, failed_after_first_ok: 0 });
    });

    it("finds a first 200 after the window, and boot to every app answering is the latest", () => {
        expect(summary.apps.b.first_ok_s).toBe(35);
        expect(summary.boot_to_all_apps_200_s).toBe(35);
        expect(summary.poller_first_request_s).toBe(1);
        expect(summary.poller_last_request_s).toBe(40);
    });

    it("has no boot time when one app never answered 200", () => {
        expect(summarizeBoot(lines.filter((l) => l.r !== "200" || l.url === A), { a: A, b: B }, 100, 30).boot_to_all_apps_200_s).toBeNull();
    });

    it("measures an outage from the first failed request after the change to the first 200 after it", () => {
        const deploy = [line(9, A, "refused"), line(10, A, "200"), line(11, A, "200"), line(12, A, "refused"), line(12.1, A, "unresolved"),
            line(14.5, A, "200"), line(15, A, "200"), line(16, A, "500")];
        expect(summarizeOutage(deploy, A, 10)).toMatchObject({ failed: 3, first_failed_at: 12, back_at: 14.5, outage_s: 2.5, failed_after_back: 1, answers_5xx: 1 });
        // Two outages: the one from 12 s to 14.5 s, and the failure after it.
        expect(summarizeOutage(deploy, A, 10)).toMatchObject({ outages: 2 });
        expect(summarizeOutage(deploy, A, 10).outage_seconds[0]).toBe(2.5);
        expect(summarizeOutage(deploy.slice(1, 3), A, 10)).toMatchObject({ failed: 0, outage_s: 0 });
        expect(summarizeOutage(deploy.slice(0, 5), A, 10).outage_s).toBeNull();
    });

    it("reads only the poller's lines", () => {
        expect(parsePollLines('noise\n{"t": 1.5, "url": "u", "r": "200"}\n{"other": 1}\n')).toEqual([{ t: 1.5, url: "u", r: "200" }]);
    });
});
