import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

// Mandatory: a violation fails `pulumi preview --policy-pack policy` and `pulumi up --policy-pack policy`,
// in CI (preview and up jobs) and in `npm run stack -- preview|up`.
new PolicyPack("rezept-tagebuch", { enforcementLevel: "mandatory", policies });
