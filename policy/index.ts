import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

// Mandatory: a violation fails `pulumi preview --policy-pack policy`, in CI and in `npm run stack -- preview`.
new PolicyPack("rezept-tagebuch", { enforcementLevel: "mandatory", policies });
