import { describeStack } from "./stackExpectations";

describeStack("test");
