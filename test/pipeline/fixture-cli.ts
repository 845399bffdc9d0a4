// The saec program over the fixture stages, run as a child process by the kill-and-resume test.
import { createProgram } from "../../pipeline/program.js";
import { FIXTURE_STAGES } from "./fixture-stages.js";

await createProgram(FIXTURE_STAGES).parseAsync(process.argv);
