/** Time in seconds and polling, shared by the e2e files. */
export const now = () => Date.now() / 1000;
export const round = (seconds: number) => Math.round(seconds * 100) / 100;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds; returns the seconds it took, or throws naming what never happened. */
export async function waitFor(what: string, condition: () => boolean, timeoutS: number, intervalMs = 250): Promise<number> {
    const start = now();
    while (now() - start < timeoutS) {
        if (condition()) return now() - start;
        await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutS}s waiting for ${what}`);
}
