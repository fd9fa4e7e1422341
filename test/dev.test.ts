import { describeStack } from "./stackExpectations";

describeStack("dev");
