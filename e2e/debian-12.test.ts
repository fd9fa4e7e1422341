import { describe } from "vitest";
import { suiteOn } from "./suite";

describe("rezept-tagebuch on a real systemd host", () => suiteOn("debian-12"));
