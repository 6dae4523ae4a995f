import { expect } from "chai";
import { rollbackTarget } from "../../components/rollout";
import { SurveyReading } from "../../remote/survey";
import { SurveyedHost } from "../../survey/serverSurvey";

const host = (survey: Partial<SurveyReading>): SurveyedHost => ({
  name: "web1",
  survey: { layout: "absent", rootPresent: true, diskFreeBytes: 0, invariants: [], ...survey },
  staged: false,
  onServer: false,
  departures: [],
  driftReconciled: false,
  drift: null,
});

describe("what the backup's record says a rollback goes back to", () => {
  const cases: [string, Partial<SurveyReading>, string][] = [
    ["nothing, on a first deploy", { layout: "absent" }, "nothing: no release was live before it"],
    [
      "the release live now, when another goes live",
      { layout: "symlink", live: "v1" },
      "releases/v1",
    ],
    [
      "the one before, when the release is live already, so that re-deploying records no change",
      { layout: "symlink", live: "v2", livePrevious: "v1" },
      "releases/v1",
    ],
    [
      "the directory deployed by hand, once it is adopted",
      { layout: "directory" },
      "the directory live before, adopted into releases/",
    ],
  ];
  for (const [what, survey, target] of cases)
    it(`is ${what}`, () => expect(rollbackTarget(host(survey), "v2")).to.equal(target));
});
