import { expect } from "chai";
import { ConfigError } from "../../config/errors";
import { declaredFields, objectsIn, pathOf } from "../../config/fields";
import { KEY_SPECS, parseStackConfig } from "../../config/stack";

const KEY = "ssh-ed25519 AAAA";

/** A valid value of each key whose value holds an object; each list holds two. */
const VALID: Record<string, unknown> = {
  hosts: [
    { name: "web1", host: "10.0.0.5", port: 22, user: "deploy", hostKey: KEY },
    { name: "web2", host: "10.0.0.6", port: 22, user: "deploy", hostKey: KEY },
  ],
  killSwitch: { file: "kill-switch.json", key: "execution_enabled", format: "json", value: false },
  proof: [
    { name: "imports", command: "python3 -c 'import app'" },
    { name: "live-refused", command: "./live", expectExit: 1, expectOutput: "refused" },
  ],
  beforeSwitch: [
    { name: "venv", command: "python3 -m venv .venv" },
    { name: "assets", command: "make assets", timeoutSeconds: 120 },
  ],
  invariants: [
    { name: "rows", command: "./count rows" },
    { name: "users", command: "./count users" },
  ],
};

const STACK = {
  repo: "/srv/repo",
  testCommand: "make test",
  target: "ssh",
  deployRoot: "/srv/app",
};

/** The problem lines of a stack whose `key` is `value`, every other key valid. */
function problemsWith(key: string, value: unknown): string[] {
  const raw = { ...STACK, ...jsonOf(VALID), [key]: JSON.stringify(value) };
  try {
    parseStackConfig(raw, "/project");
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).message.split("\n").slice(1);
  }
  throw new Error("expected a ConfigError");
}

function jsonOf(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, JSON.stringify(v)]));
}

/** A copy of `value` whose object at `at` has `change` applied to its fields. */
function changed(
  value: unknown,
  at: readonly PropertyKey[],
  change: (o: Record<string, unknown>) => Record<string, unknown>,
): unknown {
  const copy = structuredClone(value);
  const target = at.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)[k], copy);
  const o = target as Record<string, unknown>;
  const next = change({ ...o });
  for (const k of Object.keys(o)) delete o[k];
  Object.assign(o, next);
  return copy;
}

/** `at` with each list index made the list's last: the 2nd element of a list of two. */
function deepest(key: string, at: readonly PropertyKey[]): PropertyKey[] {
  const out: PropertyKey[] = [];
  let v = VALID[key];
  for (const k of at) {
    const step = typeof k === "number" ? (v as unknown[]).length - 1 : k;
    out.push(step);
    v = (v as Record<PropertyKey, unknown>)[step];
  }
  return out;
}

/** The misspelt field each key's object is given, in place of the declared one it stands for. */
const MISSPELT: [key: string, at: PropertyKey[], typo: string, meant: string][] = [
  ["proof", [1], "expectedOutput", "expectOutput"],
  ["beforeSwitch", [1], "timeoutSecond", "timeoutSeconds"],
  ["hosts", [1], "hostkey", "hostKey"],
  ["killSwitch", [], "vaule", "value"],
  ["invariants", [1], "comand", "command"],
];

describe("a field an object in the config does not declare, refused at every depth", () => {
  it("refuses proof[0].expectedOutput, which would drop the probe's output check, naming expectOutput and the commands that fix it", () => {
    const proof = [{ name: "imports", command: "true", expectedOutput: "^ok$" }];
    expect(problemsWith("proof", proof)).to.deep.equal([
      `- config key "ssot-deploy:proof" must be ${KEY_SPECS.proof.rule} (got proof[0].expectedOutput, a field proof[0] does not have: did you mean expectOutput?). Fix: pulumi config rm --path 'proof[0].expectedOutput', then pulumi config set --path 'proof[0].expectOutput' <its value>`,
    ]);
  });

  it("refuses a field of a probe close to none, listing the fields a probe declares", () => {
    const proof = [{ name: "imports", command: "true", colour: "blue" }];
    expect(problemsWith("proof", proof)).to.deep.equal([
      `- config key "ssot-deploy:proof" must be ${KEY_SPECS.proof.rule} (got proof[0].colour, a field proof[0] does not have; its fields are name, command, expectExit, expectOutput, when, timeoutSeconds). Fix: pulumi config rm --path 'proof[0].colour'`,
    ]);
  });

  for (const [key, at, typo, meant] of MISSPELT) {
    const where = pathOf(key, deepest(key, at));
    it(`refuses ${where}.${typo} in place of ${meant}, naming the key, the field's path, ${meant} and the fix, in one problem`, () => {
      const value = changed(VALID[key], deepest(key, at), (o) => {
        const { [meant]: moved, ...rest } = o;
        return { ...rest, [typo]: moved ?? "x" };
      });
      expect(problemsWith(key, value)).to.deep.equal([
        `- config key "ssot-deploy:${key}" must be ${KEY_SPECS[key].rule} (got ${where}.${typo}, a field ${where} does not have: did you mean ${meant}?). Fix: pulumi config rm --path '${where}.${typo}', then pulumi config set --path '${where}.${meant}' <its value>`,
      ]);
    });

    it(`refuses a field ${where}.colour close to none of its fields, listing them`, () => {
      const value = changed(VALID[key], deepest(key, at), (o) => ({ ...o, colour: "blue" }));
      const fields = declaredFields(KEY_SPECS[key].schema, deepest(key, at));
      expect(problemsWith(key, value)).to.deep.equal([
        `- config key "ssot-deploy:${key}" must be ${KEY_SPECS[key].rule} (got ${where}.colour, a field ${where} does not have; its fields are ${fields.join(", ")}). Fix: pulumi config rm --path '${where}.colour'`,
      ]);
    });
  }

  it("covers every key whose value holds an object", () => {
    const withObjects = Object.keys(KEY_SPECS).filter(
      (k) => objectsIn(KEY_SPECS[k].schema).length > 0,
    );
    expect(withObjects.sort()).to.deep.equal(MISSPELT.map(([k]) => k).sort());
    expect(Object.keys(VALID).sort()).to.deep.equal(withObjects);
  });

  it("refuses an unknown field in every object each key's value holds, at every depth", () => {
    for (const key of Object.keys(VALID))
      for (const at of objectsIn(KEY_SPECS[key].schema)) {
        const to = deepest(key, at);
        const value = changed(VALID[key], to, (o) => ({ ...o, colour: "blue" }));
        const lines = problemsWith(key, value);
        expect(lines, `${key} at ${pathOf(key, to)}`).to.have.length(1);
        expect(lines[0]).to.contain(`(got ${pathOf(key, [...to, "colour"])}, a field `);
      }
  });

  it("accepts each valid value, every field of it declared", () => {
    expect(() => parseStackConfig({ ...STACK, ...jsonOf(VALID) }, "/project")).to.not.throw();
  });

  it("refuses several unknown fields of one object each by name, the same whatever their order in the stack file", () => {
    const probe = { name: "imports", command: "true" };
    const one = problemsWith("proof", [{ ...probe, expectedOutput: "ok", colour: "blue" }]);
    const other = problemsWith("proof", [{ colour: "blue", ...probe, expectedOutput: "ok" }]);
    expect(one).to.deep.equal(other);
    expect(one.map((l) => /\(got (\S+),/.exec(l)?.[1])).to.deep.equal([
      "proof[0].colour",
      "proof[0].expectedOutput",
    ]);
  });

  it("still names the problem of a declared field beside an unknown one", () => {
    const lines = problemsWith("invariants", [{ name: "rows", command: "", colour: "blue" }]);
    expect(lines).to.deep.equal([
      `- config key "ssot-deploy:invariants" must be ${KEY_SPECS.invariants.rule} (got invariants[0].colour, a field invariants[0] does not have; its fields are name, command, timeoutSeconds). Fix: pulumi config rm --path 'invariants[0].colour'`,
      `- config key "ssot-deploy:invariants" must be ${KEY_SPECS.invariants.rule} (got invariants[0].command = ""). Fix: ${KEY_SPECS.invariants.fix}`,
    ]);
  });

  it("quotes a field whose name is not a plain word, so the fix's path names it", () => {
    const lines = problemsWith("killSwitch", { ...(VALID.killSwitch as object), "a.b": 1 });
    expect(lines[0]).to.contain(`(got killSwitch["a.b"], a field killSwitch does not have;`);
    expect(lines[0]).to.match(/Fix: pulumi config rm --path 'killSwitch\["a\.b"\]'$/);
  });
});
