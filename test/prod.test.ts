import { describeStack } from "./stackExpectations";

describeStack("prod");
