import { describe } from "vitest";
import { DEBIAN_13_SCENARIOS, suiteOn } from "./suite";

describe("rezept-tagebuch on a real systemd host, Debian 13", () => suiteOn("debian-13", DEBIAN_13_SCENARIOS));
